"""The installed product version, as kiosks report it in their status."""
from importlib.metadata import PackageNotFoundError, version

try:
    PRODUCT_VERSION = version("counter-eval")
except PackageNotFoundError:  # running from a source tree that is not installed
    PRODUCT_VERSION = "0+source"
