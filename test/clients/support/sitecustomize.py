"""Client-side fix for Debian's Azure CLI 2.45 role module, loaded through PYTHONPATH by the az contract suite.

Debian ships azure-mgmt-authorization 3.0.0, whose operations classes keep their configuration in
`_config`, while az 2.45's role module reads `.config` and crashes before sending anything
('RoleAssignmentsOperations' object has no attribute 'config'). This gives the classes the `config`
attribute az expects; nothing about the requests changes.
"""
import importlib

_MODULES = [
    "azure.mgmt.authorization.v2020_04_01_preview.operations",
    "azure.mgmt.authorization.v2018_01_01_preview.operations",
    "azure.mgmt.authorization.v2022_04_01.operations",
]


def _patch() -> None:
    for name in _MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # an API version this package does not ship
            continue
        for attr in dir(module):
            cls = getattr(module, attr)
            if isinstance(cls, type) and attr.endswith("Operations") and not hasattr(cls, "config"):
                cls.config = property(lambda self: self._config)


_patch()
