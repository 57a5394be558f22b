"""Event-loop extensions. Nothing is exported at top level; import the submodules."""

__all__: list[str] = []
