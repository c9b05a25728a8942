"""The PL/pgSQL of the login functions ``crmcms db roles`` installs, as psycopg SQL templates.

Every template is formatted with ``tables`` (the schema of the crm_* tables) and ``auth``
(the schema of the functions) as identifiers and the policy's numbers as literals, then sent
as the function's body in one string literal: nothing a caller types reaches this text.

The HMAC of the dummy salts is computed by hand with the built-in ``sha256()`` (RFC 2104),
not with pgcrypto: managed servers do not all offer the extension, and a function whose
search path is ``pg_catalog, pg_temp`` could not find it unqualified anyway.
"""

from __future__ import annotations

from psycopg import sql

__all__ = ["FUNCTIONS", "HELPERS", "SEARCH_PATH"]

SEARCH_PATH = "pg_catalog, pg_temp"
"""Fixed on every function: a SECURITY DEFINER function must not resolve names through a
schema its caller can create objects in (pg_temp last, explicitly, for the same reason)."""

HMAC_SHA256 = sql.SQL(
    """
DECLARE
    v_key bytea := p_key;
    v_inner bytea;
    v_outer bytea;
BEGIN
    IF length(v_key) > 64 THEN
        v_key := sha256(v_key);
    END IF;
    v_key := v_key || decode(repeat('00', 64 - length(v_key)), 'hex');
    v_inner := v_key;
    v_outer := v_key;
    FOR i IN 0..63 LOOP
        v_inner := set_byte(v_inner, i, get_byte(v_key, i) # 54);
        v_outer := set_byte(v_outer, i, get_byte(v_key, i) # 92);
    END LOOP;
    RETURN sha256(v_outer || sha256(v_inner || p_message));
END
"""
)

LOGIN_PARAMETERS = sql.SQL(
    """
DECLARE
    v_secret bytea;
    v_dummy bytea;
BEGIN
    -- The dummy salt is worked out for every login, known or not, so both take the same time.
    SELECT s.secret INTO v_secret FROM {tables}.crm_auth_secret AS s WHERE s.id = 1;
    IF v_secret IS NULL THEN
        RAISE EXCEPTION 'crm_auth_secret holds no secret' USING ERRCODE = '55000';
    END IF;
    v_dummy := substring(
        {auth}.hmac_sha256(v_secret, convert_to(coalesce(p_login, ''), 'UTF8'))
        FROM 1 FOR {salt_len}
    );
    RETURN QUERY
        SELECT c.salt, c.time_cost, c.memory_cost, c.parallelism, c.hash_len, c.version
        FROM {tables}.crm_credential AS c
        WHERE c.login = p_login;
    IF NOT FOUND THEN
        RETURN QUERY SELECT v_dummy, {time_cost}, {memory_cost}, {parallelism}, {hash_len},
            {version};
    END IF;
END
"""
)

LOGIN = sql.SQL(
    """
DECLARE
    v_now timestamptz := now();
    v_login text := left(coalesce(p_login, ''), {login_width});
    v_source text := left(p_source, {source_width});
    v_lifetime interval := least(coalesce(p_lifetime, {max_lifetime}), {max_lifetime});
    v_idle interval := least(coalesce(p_idle, {max_idle}), {max_idle});
    v_failure record;
    v_refusal text;
    v_verifier bytea;
    v_compared bytea;
    v_digest bytea;
    v_diff integer := 0;
    v_count integer;
    v_was_locked timestamptz;
    v_locked timestamptz;
    v_delay double precision;
    v_session bigint;
BEGIN
    IF p_token_hash IS NULL OR length(p_token_hash) <> 32
            OR v_lifetime <= interval '0' OR v_idle < interval '1 second' THEN
        RAISE EXCEPTION 'login: the token hash must be 32 bytes and the lifetimes positive'
            USING ERRCODE = '22023';
    END IF;
    -- The row lock makes attempts at the same login wait for each other, so attempts started
    -- together cannot outrun the delay the first failure sets.
    SELECT f.locked_at, f.refused_until INTO v_failure
        FROM {tables}.crm_login_failure AS f WHERE f.login = v_login FOR UPDATE;
    IF FOUND THEN
        IF v_failure.locked_at IS NOT NULL THEN
            IF {lockout} IS NULL OR v_now <= v_failure.locked_at + {lockout} THEN
                v_refusal := 'locked';
            END IF;
        ELSIF v_failure.refused_until IS NOT NULL AND v_now < v_failure.refused_until THEN
            v_refusal := 'delayed';
        END IF;
    END IF;
    IF v_refusal IS NOT NULL THEN
        INSERT INTO {tables}.crm_audit (at, kind, login, source, outcome, detail)
            VALUES (v_now, 'login_failed', v_login, v_source, v_refusal, '');
        RETURN NULL;
    END IF;

    -- The full login text, not the clipped one: a login too long for the tables never
    -- names the operator its first characters name.
    SELECT c.verifier INTO v_verifier FROM {tables}.crm_credential AS c WHERE c.login = p_login;
    v_digest := sha256(coalesce(p_key, ''::bytea));
    v_compared := coalesce(v_verifier, decode(repeat('00', 32), 'hex'));
    IF length(v_compared) <> 32 THEN
        v_compared := decode(repeat('00', 32), 'hex');
        v_diff := 1;
    END IF;
    -- Every byte is compared whatever the first difference: the time taken does not tell
    -- how much of a guess was right.
    FOR i IN 0..31 LOOP
        v_diff := v_diff | (get_byte(v_digest, i) # get_byte(v_compared, i));
    END LOOP;

    IF v_verifier IS NOT NULL AND v_diff = 0 THEN
        DELETE FROM {tables}.crm_login_failure AS f WHERE f.login = v_login;
        INSERT INTO {tables}.crm_session
                (login, token_hash, created_at, last_seen_at, expires_at, idle_seconds, source)
            VALUES (v_login, p_token_hash, v_now, v_now, v_now + v_lifetime,
                    floor(extract(epoch FROM v_idle))::integer, v_source)
            RETURNING id INTO v_session;
        INSERT INTO {tables}.crm_audit (at, kind, login, source, outcome, detail)
            VALUES (v_now, 'login', v_login, v_source, 'ok', 'session ' || v_session);
        RETURN v_session;
    END IF;

    -- One statement reads and writes the count, as SqlLoginStore.record_failure does; a lock
    -- older than the lockout has expired and the count starts again.
    INSERT INTO {tables}.crm_login_failure AS f (login, "count", last_at)
        VALUES (v_login, 1, v_now)
        ON CONFLICT (login) DO UPDATE SET
            "count" = CASE WHEN f.locked_at < v_now - {lockout} THEN 1 ELSE f."count" + 1 END,
            last_at = excluded.last_at,
            refused_until = CASE WHEN f.locked_at < v_now - {lockout}
                THEN NULL ELSE f.refused_until END,
            locked_at = CASE WHEN f.locked_at < v_now - {lockout}
                THEN NULL ELSE f.locked_at END
        RETURNING f."count", f.locked_at INTO v_count, v_was_locked;
    v_locked := v_was_locked;
    IF v_locked IS NULL AND v_count >= {max_failures} THEN
        v_locked := v_now;
    END IF;
    v_delay := least({first_delay} * power(2, least(v_count - 1, 40)), {max_delay});
    UPDATE {tables}.crm_login_failure AS f
        SET refused_until = v_now + make_interval(secs => v_delay), locked_at = v_locked
        WHERE f.login = v_login;
    INSERT INTO {tables}.crm_audit (at, kind, login, source, outcome, detail)
        VALUES (v_now, 'login_failed', v_login, v_source,
                CASE WHEN v_verifier IS NULL THEN 'unknown_login' ELSE 'wrong_password' END,
                'failure ' || v_count);
    IF v_locked IS NOT NULL AND v_was_locked IS NULL THEN
        INSERT INTO {tables}.crm_audit (at, kind, login, source, outcome, detail)
            VALUES (v_now, 'lockout', v_login, v_source, 'ok',
                    'after ' || v_count || ' failures');
    END IF;
    RETURN NULL;
END
"""
)

SESSION_LOGIN = sql.SQL(
    """
BEGIN
    RETURN (
        SELECT s.login FROM {tables}.crm_session AS s
        WHERE s.token_hash = p_token_hash
          AND s.revoked_at IS NULL
          AND now() < s.expires_at
          AND now() < s.last_seen_at + s.idle_seconds * interval '1 second'
    );
END
"""
)

CURRENT_SESSION_VALID = sql.SQL(
    """
DECLARE
    v_setting text := current_setting('crmcms.session', true);
BEGIN
    -- The setting is the SHA-256 of the session token in hex; anything else lets nothing by.
    IF v_setting IS NULL OR v_setting !~ '^[0-9a-f]{{64}}$' THEN
        RETURN false;
    END IF;
    RETURN {auth}.session_login(decode(v_setting, 'hex')) IS NOT NULL;
END
"""
)

HELPERS: tuple[tuple[str, str, str, sql.SQL], ...] = (
    # (name, arguments, returns and attributes, body)
    ("hmac_sha256", "p_key bytea, p_message bytea", "bytea IMMUTABLE STRICT", HMAC_SHA256),
)
"""Called only from the functions below, as their owner: no SECURITY DEFINER, no grant."""

FUNCTIONS: tuple[tuple[str, str, str, sql.SQL], ...] = (
    (
        "login_parameters",
        "p_login text",
        "TABLE (salt bytea, time_cost integer, memory_cost integer, parallelism integer,"
        " hash_len integer, version integer) STABLE",
        LOGIN_PARAMETERS,
    ),
    (
        "login",
        "p_login text, p_key bytea, p_token_hash bytea, p_source text,"
        " p_lifetime interval, p_idle interval",
        "bigint VOLATILE",
        LOGIN,
    ),
    ("session_login", "p_token_hash bytea", "text STABLE", SESSION_LOGIN),
    ("current_session_valid", "", "boolean STABLE", CURRENT_SESSION_VALID),
)
"""The SECURITY DEFINER entry points."""
