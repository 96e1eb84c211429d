"""The driver protocol: what the kit cannot do to a gateway by SMTP alone, the vendor's driver does.

Design rule: every hook is optional and found by name. A Python driver is any object (the class
named `module:Class`, built with the section's `options` as keywords); an HTTP driver is a base URL
answering `POST <url>/<hook>` with a JSON body, as Pact's provider states (404: no such hook). A
check asks `call(hook, ...)`: a hook the driver lacks raises `HookMissing` (the check is *not run*),
a hook that raises -- or an HTTP answer other than 2xx/404, or no answer -- raises `DriverError`.

The hooks: prepare(counterparts: dict), enable_connector(), disable_connector(),
set_intake_address(address: str), read_log_lines() -> list[str], let_retries_run(), finish().
`finish` is called once when the run ends -- after the last check, before the kit's counterparts
stop -- for the driver to put the product back as the run found it (switch the copy back off,
release or delete held samples, close sessions). A `finish` that raises changes no rule's outcome:
it is reported in the run's output and bundle (and the run exits 1).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from simulator.conformance.gateway.section import DriverSection
from simulator.conformance.outcomes import DriverError, HookMissing

HOOKS = ("prepare", "enable_connector", "disable_connector", "set_intake_address", "read_log_lines",
         "let_retries_run", "finish")
#: Each hook's arguments as the HTTP form's JSON body names them.
HTTP_ARGUMENTS: dict[str, tuple[str, ...]] = {"prepare": ("counterparts",),
                                              "set_intake_address": ("address",)}
HTTP_TIMEOUT = 60.0
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Driver(Protocol):
    """What the checks ask of a driver, whatever its form."""

    def has(self, hook: str) -> bool:
        """Does the driver provide `hook`? (An HTTP driver is asked only by calling it.)"""

    def call(self, hook: str, *args: Any) -> Any:
        """Run `hook`; HookMissing if there is none, DriverError if it raised."""


class NoDriver:
    """No driver configured: every hook is missing."""

    def has(self, hook: str) -> bool:
        return False

    def call(self, hook: str, *args: Any) -> Any:
        raise HookMissing(hook)


class PythonDriver:
    """Hooks are the methods of `instance`, found by name."""

    def __init__(self, instance: object) -> None:
        self.instance = instance

    def has(self, hook: str) -> bool:
        return callable(getattr(self.instance, hook, None))

    def call(self, hook: str, *args: Any) -> Any:
        method = getattr(self.instance, hook, None)
        if not callable(method):
            raise HookMissing(hook)
        try:
            return method(*args)
        except Exception as error:
            raise DriverError(hook, error) from error


class HttpDriver:
    """Hooks are `POST <url>/<hook>` with a JSON body; the answer's JSON (if any) is the result."""

    def __init__(self, url: str, timeout: float = HTTP_TIMEOUT) -> None:
        self.url, self.timeout = url.rstrip("/"), timeout
        self._missing: set[str] = set()

    def has(self, hook: str) -> bool:
        return hook not in self._missing  # known only once called: a 404 says it is missing

    def call(self, hook: str, *args: Any) -> Any:
        if hook in self._missing:
            raise HookMissing(hook)
        body = json.dumps(dict(zip(HTTP_ARGUMENTS.get(hook, ()), args, strict=False))).encode()
        request = urllib.request.Request(f"{self.url}/{hook}", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with DIRECT.open(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                self._missing.add(hook)
                raise HookMissing(hook) from None
            raise DriverError(hook, RuntimeError(f"HTTP {error.code} {error.reason}")) from None
        except (urllib.error.URLError, OSError) as error:
            raise DriverError(hook, error) from error
        return _result(hook, answer)


def _result(hook: str, answer: bytes) -> Any:
    """The JSON of an answer (None if empty); `read_log_lines` may answer a list or {"lines": [...]}."""
    if not answer.strip():
        return None
    try:
        result = json.loads(answer)
    except ValueError as error:
        raise DriverError(hook, error) from None
    return result.get("lines", result) if hook == "read_log_lines" and isinstance(result, dict) else result


def load_class(spec: str, path: Path | None) -> Any:
    """The class `module:Class` names, imported from `path` (a directory or a .py file) if given."""
    module_name, _, class_name = spec.partition(":")
    if path is not None and path.is_file():
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise ImportError(f"cannot load {path} as module {module_name}")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        loader.loader.exec_module(module)
    else:
        if path is not None and str(path) not in sys.path:
            sys.path.insert(0, str(path))
        module = importlib.import_module(module_name)
    return getattr(module, class_name)


def load_driver(section: DriverSection | None) -> Driver:
    """The driver a `[gateway.driver]` section names (none: every hook missing); building a Python
    driver that raises is a DriverError of the hook `__init__`."""
    if section is None:
        return NoDriver()
    if section.url is not None:
        return HttpDriver(section.url)
    assert section.python is not None
    try:
        return PythonDriver(load_class(section.python, section.path)(**section.options))
    except Exception as error:
        raise DriverError("__init__", error) from error
