"""The seed's console screens written as crmcms definitions."""

from __future__ import annotations

from datetime import date, timedelta

from crmcms.model import (
    AttributeDef,
    AttributeGroup,
    AttributeOverride,
    BusinessCalendar,
    Catalog,
    Channel,
    ClientCategory,
    ContactPlace,
    ContactPlaceKind,
    ContactTemplate,
    Deadline,
    Dictionary,
    DictionaryItem,
    DictionaryKind,
    EscalationAction,
    EscalationLevel,
    Flag,
    GroupDisplay,
    Handler,
    HandlerEvent,
    LevelAction,
    MailingList,
    MessageTemplate,
    NotificationKind,
    Operator,
    Priority,
    Process,
    Queue,
    QueueMember,
    QueuePolicy,
    Role,
    Route,
    Rule,
    Topic,
    TopicGroup,
    Transition,
    ValueType,
)

__all__ = ["build_catalog"]

YES = Flag(True)
NO = Flag(False)

DATE = ValueType.DATE
DECIMAL = ValueType.DECIMAL
BOOLEAN = ValueType.BOOLEAN
STRING = ValueType.STRING
REFERENCE = ValueType.REFERENCE

# --- Dictionaries -----------------------------------------------------------------------------

DICTIONARIES = (
    Dictionary(
        "CITY",
        "Город",
        DictionaryKind.ANALYTIC,
        items=(
            DictionaryItem("PSKOV", "Псков"),
            DictionaryItem("MOSCOW", "Москва"),
            DictionaryItem("SPB", "Санкт-Петербург"),
        ),
    ),
    Dictionary(
        "CLIENT_CATEGORY",
        "Категория клиента",
        DictionaryKind.INTERNAL,
        items=(
            DictionaryItem("BIS", "BIS"),
            DictionaryItem("CMS CUSTOMER", "CMS CUSTOMER"),
            DictionaryItem("VIP", "VIP"),
        ),
    ),
    Dictionary(
        "SEGMENT",
        "Сегмент",
        DictionaryKind.ANALYTIC,
        items=(DictionaryItem("MASS", "Массовый"), DictionaryItem("CORP", "Корпоративный")),
    ),
    Dictionary(
        "SMS_INSTRUCTIONS",
        "SMS инструкции",
        DictionaryKind.INTERNAL,
        items=(
            DictionaryItem("BALANCE", "Проверка баланса: *100#"),
            DictionaryItem("ROAMING", "Подключение роуминга: *111*2#"),
        ),
    ),
    Dictionary("TARIFF", "Тарифы", DictionaryKind.EXTERNAL, source="BIS"),
    Dictionary(
        "REGION_CITIES",
        "Города региона",
        DictionaryKind.QUERY,
        query="select code, name from cities where region = :region",
    ),
)

# --- Topics ------------------------------------------------------------------------------------

TOPIC_GROUPS = (
    TopicGroup(
        "SSOL_GT_ALL",
        "Группа тем для типовых БП",
        attributes=(AttributeDef("203", "Логический на группу Тест", BOOLEAN),),
    ),
    TopicGroup(
        "1",
        "Тест",
        parent="SSOL_GT_ALL",
        attributes=(
            AttributeDef(
                "186", "Атрибут на группу", REFERENCE, dictionary="SEGMENT", read_only=YES
            ),
        ),
    ),
)

TERMINATION = Topic(
    "TERMINATION",
    "Расторжение договора",
    group="SSOL_GT_ALL",
    attributes=(
        AttributeDef("166", "Причина расторжения", STRING, required=YES),
        AttributeDef("167", "Особые причины расторжения", STRING, multiple=True),
        AttributeDef("168", "Дата расторжения договора", DATE, required=YES),
        AttributeDef("169", "Категория клиента", REFERENCE, dictionary="CLIENT_CATEGORY"),
        AttributeDef("170", "Город расторжения", REFERENCE, dictionary="CITY"),
        AttributeDef("171", "Фин.карта", STRING),
    ),
)

TOPICS = (
    Topic("CONSULTATION", "Консультации", group="SSOL_GT_ALL"),
    Topic("REQUEST", "Заявка", group="SSOL_GT_ALL"),
    Topic("CLAIM", "Претензия", group="SSOL_GT_ALL"),
    Topic("COMPLAINTS", "Жалобы абонентов"),
    Topic("IBS_ACTIONS", "Действия в ИБС"),
    Topic("COFFEE_BREAK", "Coffee Break"),
    Topic(
        "SMS_INSTRUCTION_FOR_MSISDN",
        "SMS инструкция для абонента",
        description="Вставляется выбранный текст SMS инструкции для абонента",
        attributes=(
            AttributeDef("SMS_RULE", "Нужно отправить SMS инструкцию", BOOLEAN, required=YES),
            AttributeDef("SMS_INSTR", "SMS инструкция", REFERENCE, dictionary="SMS_INSTRUCTIONS"),
        ),
    ),
    TERMINATION,
    Topic("NO_SERVICE", "Нет связи"),
    Topic(
        "Vers_32",
        "Тема с большим набором атрибутов",
        description="Тема создана с большим набором атрибутов для демонстрации возможных "
        "вариантов использования",
        group="1",
        attributes=(
            AttributeDef("190", "Логический", BOOLEAN),
            AttributeDef("184", "Строка", STRING, read_only=YES),
            AttributeDef("185", "Число", DECIMAL),
        ),
        attribute_groups=(
            AttributeGroup(
                "4",
                "Развернута по умолчанию",
                attributes=("184", "185", "190", "186"),
                display=GroupDisplay.EXPANDED,
                required=YES,
            ),
        ),
    ),
)

# --- Rules and routes --------------------------------------------------------------------------

RULES = (
    Rule("ONLY_BIS", "Только для клиентов BIS", 'Клиент.Категория = "BIS"'),
    Rule("NOT_PSKOV", "Выбор очереди для клиентов не из Пскова", 'Client.Region != "Pskov"'),
    Rule("PSKOV", "Выбор очереди для клиентов из Пскова", 'Client.Region = "Pskov"'),
)

HAND_OVER = Handler(
    HandlerEvent.HAND_OVER, "notify", {"to": '"SD_TEAM"'}, name="Передача на обработку"
)
REJECTION = Handler(
    HandlerEvent.REJECTION, "notify", {"to": "Appeal.Responsible"}, name="Отклонение"
)

TRANSFER_SD_OVERRIDES = (
    AttributeOverride("170"),
    AttributeOverride("168", hidden=NO, read_only=NO, required=YES),
    AttributeOverride("169", hidden=YES),
    AttributeOverride("167"),
    AttributeOverride("166", hidden=NO, read_only=NO, required=YES),
    AttributeOverride("171", hidden=YES),
)


# Waiting for the client's documents stops the appeal's clocks (version 2).
WAIT_CLIENT = (
    Process(
        "wait_client", "Ожидание документов от клиента", queue_policy=QueuePolicy.KEEP, pauses=True
    ),
)
WAITING = (
    Transition("ask_client", "Запросить документы у клиента", "transfer_sd", "wait_client"),
    Transition("client_answered", "Клиент прислал документы", "wait_client", "transfer_sd"),
)

# The appeal's escalation ladder (version 2): halfway, a working day before, once broken.
LADDER = (
    EscalationLevel((EscalationAction(LevelAction.NOTIFY, ("SD_TEAM",)),), share=50),
    EscalationLevel(
        (EscalationAction(LevelAction.NOTIFY, ("responsible",)),),
        offset=-timedelta(days=1),
        in_working_time=True,
    ),
    EscalationLevel(
        (
            EscalationAction(LevelAction.NOTIFY, ("MANAGERS",)),
            EscalationAction(LevelAction.RAISE_PRIORITY, value="HIGH"),
        ),
        offset=timedelta(0),
    ),
)


def _termination_route(version: int) -> Route:
    transfer = Process(
        "transfer_sd",
        "Передать в SD",
        deadline=Deadline(
            timedelta(days=2),
            warn_before=timedelta(hours=4),
            notify=("SD_TEAM",),
            escalate_to=("MANAGERS",),
        ),
        overrides=TRANSFER_SD_OVERRIDES if version >= 2 else (),
    )
    return Route(
        "TERMINATION",
        "Маршрут расторжения договора",
        version=version,
        topics=("TERMINATION",),
        initial="registration",
        processes=(
            Process("registration", "Регистрация"),
            transfer,
            *(WAIT_CLIENT if version >= 2 else ()),
            Process("closed", "Закрыто", final=True),
        ),
        transitions=(
            Transition(
                "to_sd",
                "Только для клиентов BIS",
                "registration",
                "transfer_sd",
                rule="ONLY_BIS" if version >= 2 else None,
                handlers=(HAND_OVER, REJECTION),
            ),
            *(WAITING if version >= 2 else ()),
            Transition("close", "Закрыть", "transfer_sd", "closed"),
        ),
        deadline=Deadline(timedelta(days=5), ladder=LADDER if version >= 2 else ()),
        handlers=(Handler(HandlerEvent.DEADLINE_BROKEN, "escalate", {"to": '"MANAGERS"'}),),
    )


# The appeals an outage brings in: a system problem's resolution moves them all on.
OUTAGE = Route(
    "OUTAGE",
    "Обращения при массовой аварии",
    topics=("NO_SERVICE",),
    initial="registration",
    processes=(
        Process("registration", "Регистрация"),
        Process("restored", "Связь восстановлена", final=True),
    ),
    transitions=(
        Transition("service_restored", "Связь восстановлена", "registration", "restored"),
    ),
)

ROUTES = (_termination_route(1), _termination_route(2), OUTAGE)

PROBLEM_ATTRIBUTES = (
    AttributeDef("REGION", "Регион", STRING, required=YES),
    AttributeDef("SERVICE", "Услуга", STRING),
    AttributeDef("ETA", "Ожидаемое восстановление", ValueType.DATE),
)

QUEUES = (
    Queue(
        "REGISTRATION",
        "Регистрация",
        "Регистрация, системная очередь",
        processes=("registration",),
        system=True,
    ),
    Queue(
        "67",
        "CP",
        "CP",
        members=(
            QueueMember.operator("bis"),
            QueueMember.role("HAS_OPERATOR"),
            QueueMember.operator("Администратор"),
        ),
        administrators=("Администратор",),
        processes=("transfer_sd",),
        rule="NOT_PSKOV",
        calendar="MOSCOW",
    ),
    Queue(
        "79",
        "Псковский регион",
        members=(QueueMember.role("HAS_OPERATOR"),),
        administrators=("Администратор",),
        processes=("transfer_sd",),
        rule="PSKOV",
    ),
    Queue("14", "Сотрудник Абон. отдела"),
)

# --- Places, channels, templates, people -------------------------------------------------------

PLACE_KINDS = (
    ContactPlaceKind("CALL_CENTRE", "Call-centr"),
    ContactPlaceKind("OFFICE", "Офис обслуживания"),
)

PLACES = (
    ContactPlace("HEAD", "Головной офис", kind="OFFICE"),
    ContactPlace(
        "CORPORATE", "Отдел обслуживания корпоративных клиентов", parent="HEAD", kind="OFFICE"
    ),
    ContactPlace("VIP", "VIP отдел", parent="CORPORATE", kind="OFFICE"),
    ContactPlace("CC", "Контакт-центр", kind="CALL_CENTRE"),
)

CHANNELS = (
    Channel("PHONE", "Телефон"),
    Channel("VISIT", "Визит"),
    Channel("EMAIL", "E-mail"),
    Channel("SMS", "SMS"),
    Channel("WEB", "Web"),
)

CLIENT_CATEGORIES = (
    ClientCategory("BIS", "BIS"),
    ClientCategory("CMS CUSTOMER", "CMS CUSTOMER"),
    ClientCategory("VIP", "VIP"),
)

TEMPLATES = (
    ContactTemplate("28", "Для ЛОФ", "чтоб могли мы работать"),
    ContactTemplate("29", "ЛОФ 1", "проба пера", place_kind="CALL_CENTRE"),
    ContactTemplate(
        "30",
        "пробный",
        places=("VIP",),
        default_place="VIP",
        direction=None,
        channel="VISIT",
        topics=("IBS_ACTIONS", "COMPLAINTS", "CONSULTATION", "COFFEE_BREAK"),
        default_topic="COFFEE_BREAK",
        client_categories=("CMS CUSTOMER",),
        default_client_category="CMS CUSTOMER",
    ),
)

ROLES = (
    Role(
        "HAS_OPERATOR",
        "Оператор",
        permissions=(
            "register",
            "handle",
            "take",
            "assign",
            "close",
            "reopen",
            "read",
            "read_history",
        ),
    ),
    Role(
        "SYSTEM_PROBLEM_MANAGER",
        "Менеджер системных проблем",
        permissions=("read", "read_all", "bulk", "manage_system_problems"),
    ),
    Role("SECURITY_ADMIN", "Администратор безопасности", permissions=("administer_security",)),
)

OPERATORS = (
    Operator("Администратор", "Administrator", roles=("SECURITY_ADMIN",)),
    Operator(
        "bis", "Оператор BIS", roles=("HAS_OPERATOR",), template="30", email="bis@operator.example"
    ),
    Operator(
        "olga",
        "Ольга",
        roles=("HAS_OPERATOR", "SYSTEM_PROBLEM_MANAGER"),
        template="29",
        email="olga@operator.example",
    ),
)

PRIORITIES = (
    Priority("CRITICAL", "Критический", rank=0),
    Priority("HIGH", "Высокий", rank=1),
    Priority("NORMAL", "Обычный", rank=2),
    Priority("LOW", "Низкий", rank=3),
)

MAILING_LISTS = (
    MailingList("SD_TEAM", "Служба SD", operators=("olga",), addresses=("sd@example.com",)),
    MailingList("MANAGERS", "Менеджеры", addresses=("managers@example.com",)),
)

# What the monitor's and the workflow's e-mails say (messages.crm).
MESSAGE_TEMPLATES = (
    MessageTemplate(
        "DEADLINE_AT_RISK",
        NotificationKind.DEADLINE_WARNING,
        name="Срок обращения подходит к концу",
        subject="Обращение {{ appeal.id }} ({{ topic.name }}): срок на исходе",
        text=(
            "Обращение {{ appeal.id }} клиента {{ client.Name }} ждёт в очереди {{ queue.name }}.\n"
            "Срок: {{ appeal.process_deadline or appeal.deadline }} (UTC).\n"
            "{{ notification.text }}\n"
        ),
        html=(
            "<p>Обращение <b>{{ appeal.id }}</b> клиента {{ client.Name }} ждёт в очереди\n"
            "{{ queue.name }}.</p>\n"
            "<p>Срок: {{ appeal.process_deadline or appeal.deadline }} (UTC).</p>\n"
        ),
    ),
    MessageTemplate(
        "DEADLINE_BROKEN",
        NotificationKind.ESCALATION,
        name="Срок обращения нарушен",
        subject="Эскалация: обращение {{ appeal.id }} ({{ topic.name }}) просрочено",
        text=(
            "Срок обращения {{ appeal.id }} клиента {{ client.Name }} нарушен.\n"
            "Процесс: {{ process.name }}, очередь: {{ queue.name }}, "
            'приоритет: {{ appeal.priority or "-" }}.\n'
            "{{ notification.text }}\n"
        ),
    ),
)


def _days(*spans: str) -> list[date]:
    """Dates from ``2026-01-01`` or ``2026-01-01..2026-01-08``."""
    out = []
    for span in spans:
        first, _, last = span.partition("..")
        day, stop = date.fromisoformat(first), date.fromisoformat(last or first)
        while day <= stop:
            out.append(day)
            day += timedelta(days=1)
    return out


_OFFICE_HOURS = ("09:00-13:00", "14:00-18:00")
# Russia's public holidays and moved days off of 2026 and 2027, and the Saturday made a
# working day (20 February 2027), as examples/telecom/calendars.crm writes them.
MOSCOW = BusinessCalendar(
    "MOSCOW",
    "Московский офис",
    "Europe/Moscow",
    week=[_OFFICE_HOURS] * 5 + [(), ()],
    exceptions={
        **dict.fromkeys(
            _days(
                "2026-01-01..2026-01-09",
                "2026-02-23",
                "2026-03-08..2026-03-09",
                "2026-05-01",
                "2026-05-09",
                "2026-05-11",
                "2026-06-12",
                "2026-11-04",
                "2026-12-31",
                "2027-01-01..2027-01-08",
                "2027-02-22..2027-02-23",
                "2027-03-08",
                "2027-05-01",
                "2027-05-03",
                "2027-05-09..2027-05-10",
                "2027-06-12",
                "2027-06-14",
                "2027-11-04..2027-11-05",
                "2027-12-31",
            ),
            (),
        ),
        date(2027, 2, 20): _OFFICE_HOURS,
    },
)


def build_catalog() -> Catalog:
    """Every definition the seed's screenshots show, as one catalog."""
    return Catalog(
        dictionaries=DICTIONARIES,
        place_kinds=PLACE_KINDS,
        places=PLACES,
        channels=CHANNELS,
        client_categories=CLIENT_CATEGORIES,
        topic_groups=TOPIC_GROUPS,
        topics=TOPICS,
        rules=RULES,
        priorities=PRIORITIES,
        mailing_lists=MAILING_LISTS,
        routes=ROUTES,
        queues=QUEUES,
        roles=ROLES,
        operators=OPERATORS,
        templates=TEMPLATES,
        message_templates=MESSAGE_TEMPLATES,
        calendars=(MOSCOW,),
        problem_attributes=PROBLEM_ATTRIBUTES,
    )
