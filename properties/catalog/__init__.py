"""The project's registered layers, one module per family; importing registers them."""
from properties.catalog import core  # noqa: F401
from properties.catalog import norm  # noqa: F401
from properties.catalog import conv  # noqa: F401
