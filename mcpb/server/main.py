"""The desktop bundle's entry point: the same server `uvx runway-mcp-server` starts."""

from runway_mcp_server.cli import main

if __name__ == "__main__":
    main()
