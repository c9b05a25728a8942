"""The shape of the data rules read, described once.

Every object and field a rule may name by default, with its Russian alias and type, where the
engine takes its value from (the model record's attribute, and how it becomes the rule's value)
and where the SQL adapter finds it (a column of the appeal, client or contact table). The
checker's built-in schema, the engine's rule data and the SQL binding are all made from this
table, so a field added here is one a rule can name, the engine fills and a filter can query.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

import attrs

from crmcms.dsl.rules.schema import DATETIME, INTEGER, STRING, RuleType, list_of

__all__ = ["RULE_DATA", "DataAttributes", "DataField", "DataObject", "Leaf", "Via", "leaves"]


class Via(enum.Enum):
    """How the engine turns the record's value into the rule's."""

    AS_IS = "as is"
    ID = "id"
    """A numeric id, read as its text (rules compare ids as strings)."""
    CODE = "code"
    """An enumeration member, read as its value."""
    TOPIC_NAME = "topic name"
    """A topic code, read as the topic's name in the catalog."""
    RANK = "rank"
    """A priority code, read as the priority's rank in the catalog."""


@attrs.frozen
class DataField:
    """One value: ``source`` is the model record's attribute the engine reads (``""``: the
    engine leaves it empty), ``column`` the SQL column holding it (``""``: not stored), in
    ``table`` (``""``: the object's table)."""

    name: str
    alias: str
    type: RuleType
    source: str = ""
    via: Via = Via.AS_IS
    column: str = ""
    table: str = ""
    doc: str = ""


@attrs.frozen
class DataAttributes:
    """The keyed field of topic attributes: ``Appeal.Attribute[code]``; ``source`` is the
    record's mapping of values by code, ``column`` the SQL column of their JSON document."""

    name: str
    alias: str
    source: str
    column: str = ""
    doc: str = ""


@attrs.frozen
class DataObject:
    """An object of the rule data; ``table`` is the SQL table its fields are columns of
    (``appeal``, ``client`` or ``contact``; ``""``: not stored)."""

    name: str
    alias: str
    fields: tuple[DataField | DataAttributes | DataObject, ...]
    table: str = ""
    doc: str = ""


def _fields(table: str, *specs: tuple[str, str, str]) -> tuple[DataField, ...]:
    """String fields read from the record attribute and the column of the same name."""
    return tuple(
        DataField(name, alias, STRING, source=attr, column=attr if table else "")
        for name, alias, attr in specs
    )


RULE_DATA: tuple[DataObject, ...] = (
    DataObject(
        "Client", "Клиент", table="client", doc="the billing customer",
        fields=(
            DataField("Id", "Ид", STRING, "id", Via.ID, column="client_id", table="appeal"),
            *_fields(
                "client",
                ("Name", "Наименование", "name"),
                ("Category", "Категория", "category"),
                ("Region", "Регион", "region"),
                ("Status", "Статус", "status"),
            ),
        ),
    ),
    DataObject(
        "Subscriber", "Абонент", doc="one subscription (MSISDN)",
        fields=(
            DataField("Id", "Ид", STRING, "id", Via.ID),
            *_fields(
                "",
                ("Msisdn", "Номер", "msisdn"),
                ("Region", "Регион", "region"),
                ("Tariff", "Тариф", "tariff"),
                ("Status", "Статус", "status"),
            ),
        ),
    ),
    DataObject(
        "ContactPerson", "КонтактноеЛицо", doc="who spoke",
        fields=_fields(
            "", ("Name", "Имя", "name"), ("Phone", "Телефон", "phone"), ("Email", "Почта", "email")
        ),
    ),
    DataObject(
        "Contact", "Контакт", table="contact", doc="one interaction",
        fields=(
            *_fields("contact", ("Place", "Место", "place")),
            DataField("Direction", "Направление", STRING, "direction", Via.CODE, "direction"),
            *_fields("contact", ("Channel", "Канал", "channel")),
            DataField("RegisteredAt", "ВремяРегистрации", DATETIME, "registered_at",
                      column="registered_at"),
            DataField("Operator", "Оператор", STRING, "operator", column="operator",
                      doc="login of the registering operator"),
        ),
    ),
    DataObject(
        "Appeal", "Обращение", table="appeal", doc="the appeal being handled",
        fields=(
            DataField("Id", "Ид", STRING, "id", Via.ID, "id"),
            DataObject(
                "Topic", "Тема", table="appeal",
                fields=(
                    DataField("Code", "Код", STRING, "topic", column="topic"),
                    DataField("Name", "Наименование", STRING, "topic", Via.TOPIC_NAME),
                ),
            ),
            *_fields("appeal", ("Process", "Процесс", "process"), ("Queue", "Очередь", "queue")),
            DataField("State", "Состояние", STRING, "state", Via.CODE, "state"),
            DataField("Priority", "Приоритет", INTEGER, "priority", Via.RANK),
            DataField("RegisteredAt", "ВремяРегистрации", DATETIME, "registered_at",
                      column="registered_at"),
            DataField("Deadline", "Срок", DATETIME, "deadline", column="deadline"),
            DataField("ClosedAt", "ВремяЗакрытия", DATETIME, "closed_at", column="closed_at"),
            DataField("Responsible", "Ответственный", STRING, "responsible",
                      column="responsible", doc="login of the responsible"),
            DataField("Operator", "Оператор", STRING, "operator", column="operator",
                      doc="login of who registered it"),
            DataField("Route", "Маршрут", STRING, "route", column="route",
                      doc="code of the route it runs on"),
            DataField("Parent", "Родитель", STRING, "parent_id", Via.ID, "parent_id",
                      doc="id of the parent appeal"),
            DataAttributes("Attribute", "Атрибут", "values", "attribute_values",
                           doc="topic attributes by code"),
        ),
    ),
    DataObject(
        "Operator", "Оператор", doc="the operator acting",
        fields=(
            *_fields("", ("Login", "Логин", "login"), ("Name", "Имя", "name")),
            DataField("Roles", "Роли", list_of(STRING), "roles"),
        ),
    ),
)  # fmt: skip
"""What rules read by default, object by object (a plugin's ``crmcms_rule_schema`` may add)."""


@attrs.frozen
class Leaf:
    """One value of the rule data with where it lies: ``path`` from the root object."""

    path: tuple[str, ...]
    field: DataField | DataAttributes
    table: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def leaves(obj: DataObject, where: tuple[str, ...] = (), table: str = "") -> Iterator[Leaf]:
    """Every value of ``obj``, nested objects' included, in the order described."""
    here = (*where, obj.name)
    table = obj.table or table
    for f in obj.fields:
        if isinstance(f, DataObject):
            yield from leaves(f, here, table)
        else:
            own = f.table if isinstance(f, DataField) and f.table else table
            yield Leaf((*here, f.name), f, own)
