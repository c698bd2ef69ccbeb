"""Shared by the peer harnesses: re-run the calling script inside a venv beside it
that has the Python packages it needs."""
import importlib, os, subprocess, sys, venv

HERE = os.path.dirname(os.path.abspath(__file__))


def ensure_packages(modules, requirements):
    """Imports `modules`; if one is missing, installs `requirements` into
    benches/peers/.venv and re-executes the current script with that venv's Python."""
    try:
        for m in modules:
            importlib.import_module(m)
        return
    except ImportError:
        pass
    env_dir = os.path.join(HERE, ".venv")
    python = os.path.join(env_dir, "bin", "python")
    if not os.path.exists(python):
        venv.create(env_dir, with_pip=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *requirements], check=True)
    os.execv(python, [python] + sys.argv)
