"""The `runway-mcp-server` console script."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _exit(code: int) -> None:
    # Leave without interpreter finalization: nothing is left to clean up, and it rules out any
    # late native-thread activity during shutdown (runway_core also guards this with atexit).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: "list[str] | None" = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["call"]:
        from .call import main as call_main

        _exit(call_main(args[1:]))
    if args[:1] == ["doctor"]:
        from .doctor import main as doctor_main

        _exit(doctor_main(args[1:]))
    from .settings import ENV_VARS

    env = "\n".join(f"  {name:<29} {what}" for name, what in ENV_VARS)
    parser = argparse.ArgumentParser(
        prog="runway-mcp-server", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="MCP server for Runway's API: images, video and audio. Serves MCP over stdio by default.",
        epilog=f"""subcommands:
  doctor [--json] [--simulate]  check the key, Runway, credits, folders and the journal; the fix for each failure
  call TOOL [JSON] [--simulate] start the server, call one tool through a real MCP client, print progress
                                and the result

environment:
{env}""")
    parser.add_argument("--simulate", action="store_true", help="use the built-in Runway simulator: no key, no credits")
    parser.add_argument("--transport", choices=("stdio", "streamable-http"), default="stdio",
                        help="stdio (default) or streamable-http, stateless: any replica answers any request")
    parser.add_argument("--http", action="store_true", help="the same as --transport streamable-http")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve HTTP on (default 127.0.0.1; any other needs --require-key or "
                             "RUNWAY_MCP_ACCESS_TOKEN)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve HTTP on (default 8000)")
    parser.add_argument("--require-key", action="store_true",
                        help="HTTP: every request brings its own Runway key (Authorization: Bearer <key>)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    opts = parser.parse_args(args)
    from runway_core import __version__

    if opts.version:
        print(f"runway-mcp-server {__version__}")
        _exit(0)
    # stdout is the protocol: every log line goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("RUNWAY_MCP_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from .server import build
    from .settings import Settings

    http = opts.http or opts.transport == "streamable-http"
    settings = Settings.from_env(simulate=opts.simulate, http=http, require_key=opts.require_key)
    mcp = build(settings)
    try:
        if http:
            from .remote import serve

            serve(mcp, settings, opts.host, opts.port)
        else:
            mcp.run("stdio")
    except KeyboardInterrupt:
        pass
    _exit(0)
    return 0
