from __future__ import annotations

import subprocess
import sys

import webhook_guard


def test_all_is_sorted_and_exported() -> None:
    names = webhook_guard.__all__
    assert list(names) == sorted(names)
    for name in names:
        assert hasattr(webhook_guard, name), name
    for required in ("Guard", "WebhookRequest", "Verdict", "Reason", "load_config", "__version__"):
        assert required in names


def test_import_pulls_in_no_framework() -> None:
    code = (
        "import sys, webhook_guard, webhook_guard.testing, webhook_guard.cli;"
        "bad = [m for m in ('starlette', 'fastapi', 'flask', 'django', 'redis', 'httpx', 'uvicorn',"
        " 'werkzeug', 'cryptography', 'prometheus_client') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("webhook_guard").joinpath("py.typed").is_file()
