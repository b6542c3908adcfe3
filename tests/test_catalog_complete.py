"""Adding a layer is the layer plus one entry: nothing exported from layers/ goes unchecked."""
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

import layers as L
from oracle.twins import twin_for
from properties.catalog import entries

# Layer classes that are not layers to check on their own, and why.
NOT_LAYERS = {
    L.Layer: "the protocol's base class",
    L.Loss: "the base class of the losses",
    L.AttributeLayer: "an adapter around a user's layer, checked through tests/test_user_layers.py",
    L.PenalizedLayer: "an adapter around a user's L1/L2-regularised layer (tests/test_user_nnfs_style.py)",
    L.FunctionalLayer: "an adapter around a user's functional pair (tests/test_adapters_functional.py)",
    L.FunctionalLoss: "an adapter around a user's functional loss (tests/test_adapters_functional.py)",
    L.SelfUpdatingLayer: "an adapter around a user's self-updating layer (tests/test_adapters_self_updating.py)",
    L.OptimizerFedLayer: "an adapter around a user's layer given an optimizer by initialize() "
                         "(tests/test_user_mlfromscratch_style.py)",
    L.GradientNetwork: "an adapter around a user's whole network (tests/test_adapters_network.py)",
    L.Sequential: "a whole network, checked by tests/test_networks.py",
}


def exported_layer_classes():
    return [obj for name in L.__all__ for obj in [getattr(L, name)]
            if inspect.isclass(obj) and issubclass(obj, L.Layer) and obj not in NOT_LAYERS]


def one_config(strategy):
    """One configuration drawn from ``strategy`` (derandomized, no shrinking)."""
    drawn = []

    @settings(max_examples=1, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(config):
        drawn.append(config)

    draw()
    return drawn[0]


def registered_classes():
    """The class each registry entry builds."""
    return {type(entry.make(one_config(entry.configs), np.random.default_rng(0), np.dtype("float64")))
            for entry in entries()}


def test_every_exported_layer_has_a_registry_entry():
    registered = registered_classes()
    missing = [c.__name__ for c in exported_layer_classes() if c not in registered]
    assert not missing, (f"layers exported from layers/ without a registry entry in "
                         f"properties/catalog/: {missing}")


@pytest.mark.parametrize("cls", exported_layer_classes(), ids=lambda c: c.__name__)
def test_every_exported_layer_has_a_tf_twin(cls):
    layer = cls.__new__(cls)   # twin_for looks at the class only
    twin_for(layer)


def test_a_layer_without_a_twin_is_named():
    class Unregistered(L.Layer):
        pass
    with pytest.raises(LookupError, match="no TF twin registered for Unregistered"):
        twin_for(Unregistered())
