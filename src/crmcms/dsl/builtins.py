"""The built-in schema: the objects and functions every rule may use, with no plugins."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from crmcms.dsl.functions import BUILTIN_FUNCTIONS
from crmcms.dsl.schema import DATETIME, INTEGER, STRING, RuleType, Schema, SchemaBuilder, list_of

__all__ = ["add_builtin_objects", "builtin_schema"]


def add_builtin_objects(schema: SchemaBuilder) -> None:
    """The runtime records rules see, with their English and Russian names."""
    s, i, dt = STRING, INTEGER, DATETIME
    client = schema.object("Client", aliases=["Клиент"], doc="the billing customer")
    client.field("Id", s, aliases=["Ид"]).field("Name", s, aliases=["Наименование"])
    client.field("Category", s, aliases=["Категория"]).field("Region", s, aliases=["Регион"])
    client.field("Status", s, aliases=["Статус"])

    sub = schema.object("Subscriber", aliases=["Абонент"], doc="one subscription (MSISDN)")
    sub.field("Id", s, aliases=["Ид"]).field("Msisdn", s, aliases=["Номер"])
    sub.field("Region", s, aliases=["Регион"]).field("Tariff", s, aliases=["Тариф"])
    sub.field("Status", s, aliases=["Статус"])

    person = schema.object("ContactPerson", aliases=["КонтактноеЛицо"], doc="who spoke")
    person.field("Name", s, aliases=["Имя"]).field("Phone", s, aliases=["Телефон"])
    person.field("Email", s, aliases=["Почта"])

    contact = schema.object("Contact", aliases=["Контакт"], doc="one interaction")
    contact.field("Place", s, aliases=["Место"]).field("Direction", s, aliases=["Направление"])
    contact.field("Channel", s, aliases=["Канал"])
    contact.field("RegisteredAt", dt, aliases=["ВремяРегистрации"])
    contact.field("Operator", s, aliases=["Оператор"], doc="login of the registering operator")

    appeal = schema.object("Appeal", aliases=["Обращение"], doc="the appeal being handled")
    appeal.field("Id", s, aliases=["Ид"])
    topic = appeal.object("Topic", aliases=["Тема"])
    topic.field("Code", s, aliases=["Код"]).field("Name", s, aliases=["Наименование"])
    appeal.field("Process", s, aliases=["Процесс"]).field("Queue", s, aliases=["Очередь"])
    appeal.field("State", s, aliases=["Состояние"]).field("Priority", i, aliases=["Приоритет"])
    appeal.field("RegisteredAt", dt, aliases=["ВремяРегистрации"])
    appeal.field("Deadline", dt, aliases=["Срок"])
    appeal.field("ClosedAt", dt, aliases=["ВремяЗакрытия"])
    appeal.field("Responsible", s, aliases=["Ответственный"], doc="login of the responsible")
    appeal.field("Operator", s, aliases=["Оператор"], doc="login of who registered it")
    appeal.field("Route", s, aliases=["Маршрут"], doc="code of the route it runs on")
    appeal.field("Parent", s, aliases=["Родитель"], doc="id of the parent appeal")
    appeal.attributes("Attribute", aliases=["Атрибут"], doc="topic attributes by code")

    operator = schema.object("Operator", aliases=["Оператор"], doc="the operator acting")
    operator.field("Login", s, aliases=["Логин"]).field("Name", s, aliases=["Имя"])
    operator.field("Roles", list_of(s), aliases=["Роли"])


def builtin_schema(
    *,
    attributes: Mapping[str, RuleType] | None = None,
    configure: Callable[[SchemaBuilder], None] | None = None,
) -> Schema:
    """The built-in objects and functions, and nothing a plugin adds.

    ``attributes`` declares topic attribute types by code (``{"168": DATE}``), after which
    unknown codes are errors; ``configure`` may add anything else before the schema freezes.
    What plugins add is assembled by the composition layer: see
    :func:`crmcms.plugins.rule_schema`.
    """
    if not attributes and configure is None:
        return _plain()
    builder = _builder().declare_attributes(attributes or {})
    if configure is not None:
        configure(builder)
    return builder.build_schema()


def _builder() -> SchemaBuilder:
    builder = SchemaBuilder()
    add_builtin_objects(builder)
    for fn in BUILTIN_FUNCTIONS:
        builder.function(fn)
    return builder


# Pure and the same every time: made once rather than once per rule compiled without a schema.
@functools.cache
def _plain() -> Schema:
    return _builder().build_schema()
