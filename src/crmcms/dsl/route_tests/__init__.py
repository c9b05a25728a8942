"""Route test files (``*.crmtest``): what a route must do for a client, parsed with their places."""

from crmcms.dsl.route_tests.ast import (
    Expect,
    ExpectKind,
    Field,
    Fields,
    Perform,
    Ref,
    RouteTest,
    RouteTestFile,
    Setting,
    Statement,
    Wait,
)
from crmcms.dsl.route_tests.parser import (
    SUFFIX,
    parse_route_tests,
    read_route_tests,
    route_tests_parser,
)

__all__ = [
    "SUFFIX",
    "Expect",
    "ExpectKind",
    "Field",
    "Fields",
    "Perform",
    "Ref",
    "RouteTest",
    "RouteTestFile",
    "Setting",
    "Statement",
    "Wait",
    "parse_route_tests",
    "read_route_tests",
    "route_tests_parser",
]
