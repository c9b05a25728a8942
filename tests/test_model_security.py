"""Permissions, built-in roles and principals as the catalog makes them."""

from __future__ import annotations

import pytest

from crmcms import DefinitionError, NotFoundError, Permission, Principal
from crmcms.dsl import load_catalog_text
from crmcms.model import BUILTIN_ROLES

DEFINITIONS = """
role DESK "Front desk" { permissions: register, read }
role ADMINISTRATOR "Our own administrator" { permissions: administer }
operator olga "Olga"
operator ivan "Ivan" { roles: DESK }
operator anna "Anna" { roles: MANAGER, DESK }
operator root "Root" { roles: ADMINISTRATOR }
"""


def test_an_operator_declared_without_roles_has_the_operator_role() -> None:
    principal = load_catalog_text(DEFINITIONS).principal("olga")
    assert principal.roles == {"OPERATOR"}
    assert principal.may(Permission.HANDLE)
    assert not principal.may(Permission.READ_ALL)
    assert not principal.may(Permission.ADMINISTER_SECURITY)


def test_permissions_are_those_of_every_role_and_nothing_more() -> None:
    catalog = load_catalog_text(DEFINITIONS)
    assert catalog.principal("ivan").permissions == {Permission.REGISTER, Permission.READ}
    anna = catalog.principal("anna")
    assert anna.permissions == {Permission.REGISTER, *BUILTIN_ROLES["MANAGER"].permissions}
    assert not anna.may(Permission.HANDLE)


def test_a_role_defined_in_the_catalog_wins_over_the_built_in_one() -> None:
    catalog = load_catalog_text(DEFINITIONS)
    assert catalog.principal("root").permissions == {Permission.ADMINISTER}
    assert catalog.role("MANAGER") is BUILTIN_ROLES["MANAGER"]


def test_built_in_roles_keep_managers_from_handling_and_security_from_appeals() -> None:
    manager = set(BUILTIN_ROLES["MANAGER"].permissions)
    assert {Permission.REPORT, Permission.READ_ALL} <= manager
    assert not manager & {Permission.HANDLE, Permission.TAKE, Permission.CLOSE}
    security = set(BUILTIN_ROLES["SECURITY_ADMINISTRATOR"].permissions)
    assert security == {Permission.ADMINISTER_SECURITY}
    assert set(BUILTIN_ROLES["ADMINISTRATOR"].permissions) == set(Permission)


def test_an_unknown_operator_has_no_principal() -> None:
    with pytest.raises(NotFoundError, match="nobody"):
        load_catalog_text(DEFINITIONS).principal("nobody")


def test_principals_compare_by_value_and_cannot_be_changed() -> None:
    catalog = load_catalog_text(DEFINITIONS)
    assert catalog.principal("olga") == catalog.principal("olga")
    principal: Principal = catalog.principal("olga")
    with pytest.raises(AttributeError):
        principal.login = "ivan"  # type: ignore[misc]


def test_an_unknown_permission_is_reported_where_the_role_names_it() -> None:
    with pytest.raises(DefinitionError) as error:
        load_catalog_text('role DESK "Desk" { permissions: register, handel }')
    assert "<definitions>:1:43: unknown permission 'handel' of role DESK" in str(error.value)
    assert "did you mean 'handle'" in str(error.value)


def test_roles_that_grant_nothing_leave_the_operator_role() -> None:
    catalog = load_catalog_text(
        'role AGENT "Agent"\noperator ann "Ann" { roles: AGENT }\n' + DEFINITIONS
    )
    ann = catalog.principal("ann")
    assert ann.roles == {"AGENT", "OPERATOR"}
    assert ann.may(Permission.HANDLE)
    assert catalog.principal("ivan").roles == {"DESK"}


def test_an_administrator_of_a_queue_holds_the_queue_administrator_role() -> None:
    catalog = load_catalog_text(
        DEFINITIONS + 'queue LINE "Line" { members: olga, ivan  admins: ivan }\n'
    )
    ivan = catalog.principal("ivan")
    assert ivan.roles == {"DESK", "QUEUE_ADMINISTRATOR"}
    assert ivan.may(Permission.CHANGE_DEADLINES)
    assert not catalog.principal("olga").may(Permission.CHANGE_DEADLINES)
