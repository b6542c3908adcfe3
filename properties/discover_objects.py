"""A user's whole network (``loss``/``gradient``) or optimizer (``update(params, grads)``) found
in their file, as an item to check (``properties.discover`` finds them)."""
from properties.discover import build_object
from properties.user_build import call_expression
from properties.user_entry import CannotCheck, Found
from properties.user_network_batch import network_batch


def network_item(cls, label, path, module, hint):
    from properties.owncode_networks import check_network
    net = build_object(cls, module, hint)
    x, t, how = network_batch(net, cls.__name__, hint,
                              hint.build if hint is not None and hint.build else call_expression(cls))

    def check():
        return check_network(lambda: build_object(cls, module, hint), x, t, label=label)
    return Found(label, path, "network", f"network with loss/gradient; {how}", check=check)


def optimizer_item(cls, label, path, module, hint):
    from properties.owncode_optimizers import check_dict_optimizer, optimizer_kind, readable
    try:
        opt = build_object(cls, module, hint)
        kind = optimizer_kind(opt)
        readable(opt)      # every hyperparameter it needs, read now: a skip saying which, not a crash
    except ValueError as exc:
        raise CannotCheck(str(exc)) from exc     # each message says what would make it checkable

    def check():
        return check_dict_optimizer(lambda: build_object(cls, module, hint), label=label)
    return Found(label, path, "optimizer", f"{kind} optimizer on dicts, against tf.keras", check=check)

