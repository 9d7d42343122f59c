"""newswatch: watches news sources and alerts on new developments on the topics you track."""

from importlib.metadata import PackageNotFoundError, version


def _version() -> str:
    try:
        return version("newswatch")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0+unknown"


__version__ = _version()
