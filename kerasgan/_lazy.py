"""Lazy re-exports: a package names its public objects and the module each lives in."""

import importlib


def lazy_exports(package_name, exports):
    """Return (__getattr__, __dir__) that import `name` from `package.module` on first access."""

    def __getattr__(name):
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package_name}.{module_name}"), name)
        importlib.import_module(package_name).__dict__[name] = value
        return value

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
