"""runway-mcp-server: an MCP server for Runway's API, on the `runway_core` library."""

from runway_core import __version__

__all__ = ["__version__"]
