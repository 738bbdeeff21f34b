"""Template context shared by every page."""

from functools import cache
from importlib.metadata import PackageNotFoundError, version


@cache
def product_version() -> str:
    """The installed version of the server."""
    try:
        return version("ssm-onprem")
    except PackageNotFoundError:
        return "development"


def product(request):
    """Product name and version for the page header and footer."""
    return {"product_name": "Smart Software Manager On-Prem", "product_version": product_version()}
