"""The blue-green traffic switch: the production URL answers from LIFTOFF_COLOR.

Writes the colour into RUN_DIR/<environment>.color (a temporary file renamed over it,
so the switch reads either the old colour or the new one), starts the switch (a small
reverse proxy on --port, `serve.py proxy`) if it is not running, and waits until the
public URL answers from that colour.
"""

import argparse
import os
import sys
from pathlib import Path

import serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--blue-port", type=int, required=True)
    parser.add_argument("--green-port", type=int, required=True)
    args = parser.parse_args()
    color = os.environ.get("LIFTOFF_COLOR", "")
    environment = os.environ.get("LIFTOFF_ENVIRONMENT", "production")
    if color not in ("blue", "green"):
        sys.exit(f"LIFTOFF_COLOR is {color!r}: blue or green.")
    run_dir = Path(args.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    color_file = run_dir / f"{environment}.color"
    temporary = color_file.with_suffix(".color.new")
    temporary.write_text(color + "\n")
    os.replace(temporary, color_file)

    name = f"{environment}-switch"
    pid_file, log = run_dir / f"{name}.pid", run_dir / f"{name}.log"
    process = None
    if serve.running_pid(pid_file) is None:
        # Installed beside the colours, so it outlives this deployment's checkout.
        home = run_dir / name
        serve.shutil.rmtree(home, ignore_errors=True)
        serve.shutil.copytree(serve.HERE, home / "deploy")
        argv = [sys.executable, str(home / "deploy" / "serve.py"), "proxy"]
        argv += ["--port", str(args.port), "--color-file", str(color_file)]
        argv += ["--blue-port", str(args.blue_port), "--green-port", str(args.green_port)]
        argv += ["--pid-file", str(pid_file)]
        process = serve.start(argv, pid_file=pid_file, log=log, cwd=home)
        print(f"Started the switch on port {args.port} (PID {process.pid})")

    def ready() -> str:
        status, body, headers = serve.get(args.port, "/health/oracle")
        if status == 200 and headers.get("X-Demo-Color") == color:
            return ""
        return f"answered {status} from {headers.get('X-Demo-Color')}: {body}"

    serve.wait_until(ready, process=process, what=f"The switch on port {args.port}", log=log)
    print(f"http://127.0.0.1:{args.port}/ answers from {color}")


if __name__ == "__main__":
    main()
