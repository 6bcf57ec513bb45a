"""runway-mcp-server: an MCP server for Runway's API. The server itself arrives in the next
release; the library it is built on is `runway_core`."""

from runway_core import __version__

__all__ = ["__version__"]
