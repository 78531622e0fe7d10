"""The store's schema as numbered, forward-only migrations.

Each migration is a list of SQL statements applied in one transaction together with the
new row in `schema_version`, so a store is always at exactly one version. Add a change by
appending a migration; never edit one that has shipped.
"""

from __future__ import annotations

import duckdb

from spc.store.connection import transaction

# The observation table (version 1; rebuilt unchanged by version 3, because it refers to `area`).
_OBSERVATION = """
    CREATE TABLE observation (
        indicator_id    VARCHAR NOT NULL REFERENCES indicator (id),
        area_code       VARCHAR NOT NULL REFERENCES area (code),
        period_start    DATE NOT NULL,
        period_grain    VARCHAR NOT NULL CHECK (period_grain IN ('week', 'month', 'quarter', 'year')),
        value           DOUBLE,                    -- proportions as fractions 0..1
        numerator       DOUBLE,
        denominator     DOUBLE,
        loaded_at       TIMESTAMP NOT NULL,
        load_batch_id   BIGINT NOT NULL,
        PRIMARY KEY (indicator_id, area_code, period_start)
    )
    """

# Version 1: the indicator store (catalogue, areas, observations with revisions, annotations,
# loads and rejected rows).
_V1 = [
    """
    CREATE TABLE indicator (
        id              VARCHAR PRIMARY KEY,
        name            VARCHAR NOT NULL,
        description     VARCHAR NOT NULL DEFAULT '',
        unit            VARCHAR NOT NULL,          -- '%', 'count', 'seconds', 'minutes', 'rate per 1,000'
        kind            VARCHAR NOT NULL CHECK (kind IN ('count', 'proportion', 'rate', 'duration',
                                                          'mean', 'survey proportion')),
        improvement     VARCHAR NOT NULL CHECK (improvement IN ('increase', 'decrease', 'neutral')),
        chart           VARCHAR NOT NULL CHECK (chart IN ('xmr', 'run', 'p', 'pp', 'u', 'up', 'c', 'g', 't')),
        frequency       VARCHAR NOT NULL CHECK (frequency IN ('week', 'month', 'quarter', 'year')),
        priority        VARCHAR NOT NULL,          -- the police and crime plan priority area
        source          VARCHAR NOT NULL,
        owner           VARCHAR NOT NULL DEFAULT '',
        target          DOUBLE,                    -- assurance reference only, never the judgement
        target_source   VARCHAR,
        local           BOOLEAN NOT NULL DEFAULT false,  -- also reported per community safety partnership area
        sort_order      INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE TABLE area (
        code        VARCHAR PRIMARY KEY,
        name        VARCHAR NOT NULL,
        type        VARCHAR NOT NULL CHECK (type IN ('force', 'community safety partnership area', 'district')),
        ons_code    VARCHAR,
        valid_from  DATE,
        valid_to    DATE
    )
    """,
    "CREATE SEQUENCE load_batch_id_seq START 1",
    """
    CREATE TABLE load_batch (
        id              BIGINT PRIMARY KEY DEFAULT nextval('load_batch_id_seq'),
        source          VARCHAR NOT NULL,          -- importer name: demo, police-uk, calls-999, ...
        path            VARCHAR NOT NULL,
        file_sha256     VARCHAR,
        started_at      TIMESTAMP NOT NULL,
        finished_at     TIMESTAMP,
        status          VARCHAR NOT NULL CHECK (status IN ('loaded', 'rejected', 'partial', 'unchanged')),
        rows_read       BIGINT NOT NULL DEFAULT 0,
        rows_loaded     BIGINT NOT NULL DEFAULT 0,  -- new current rows
        rows_unchanged  BIGINT NOT NULL DEFAULT 0,
        rows_revised    BIGINT NOT NULL DEFAULT 0,
        rows_rejected   BIGINT NOT NULL DEFAULT 0,
        message         VARCHAR
    )
    """,
    _OBSERVATION,
    """
    CREATE TABLE observation_revision (   -- earlier values of a current observation, newest last
        indicator_id        VARCHAR NOT NULL,
        area_code           VARCHAR NOT NULL,
        period_start        DATE NOT NULL,
        period_grain        VARCHAR NOT NULL,
        value               DOUBLE,
        numerator           DOUBLE,
        denominator         DOUBLE,
        loaded_at           TIMESTAMP NOT NULL,
        load_batch_id       BIGINT NOT NULL,
        superseded_at       TIMESTAMP NOT NULL,
        superseded_by_batch BIGINT NOT NULL
    )
    """,
    "CREATE SEQUENCE annotation_id_seq START 1",
    """
    CREATE TABLE annotation (
        id              BIGINT PRIMARY KEY DEFAULT nextval('annotation_id_seq'),
        indicator_id    VARCHAR,                   -- NULL: every indicator
        area_code       VARCHAR,                   -- NULL: every area
        date            DATE NOT NULL,
        kind            VARCHAR NOT NULL CHECK (kind IN ('intervention', 'recalculate', 'exclude', 'note')),
        text            VARCHAR NOT NULL,
        author          VARCHAR NOT NULL,
        created_at      TIMESTAMP NOT NULL,
        deleted_at      TIMESTAMP                  -- withdrawn annotations are kept, not deleted
    )
    """,
    "CREATE SEQUENCE rejected_row_id_seq START 1",
    """
    CREATE TABLE rejected_row (
        id              BIGINT PRIMARY KEY DEFAULT nextval('rejected_row_id_seq'),
        load_batch_id   BIGINT NOT NULL,
        file            VARCHAR NOT NULL,
        line            BIGINT,                    -- 1-based line in the file, header = 1
        column_name     VARCHAR,
        value           VARCHAR,
        reason          VARCHAR NOT NULL,
        raw             VARCHAR                    -- the row as read
    )
    """,
]

# Version 2: engine results read by the app and the briefing pack, analyst chart settings,
# refresh runs and the signal history.
_V2 = [
    """
    CREATE TABLE series_setting (   -- an analyst's overrides of the catalogue's chart choice
        indicator_id    VARCHAR NOT NULL,
        area_code       VARCHAR NOT NULL,          -- '*' for every area of the indicator
        chart           VARCHAR,
        improvement     VARCHAR,
        two_sigma       VARCHAR,
        screen_outliers BOOLEAN,
        shift           INTEGER,
        trend           INTEGER,
        rule_set        VARCHAR,
        baseline_points INTEGER,
        author          VARCHAR NOT NULL,
        updated_at      TIMESTAMP NOT NULL,
        PRIMARY KEY (indicator_id, area_code)
    )
    """,
    "CREATE SEQUENCE refresh_run_id_seq START 1",
    """
    CREATE TABLE refresh_run (
        id              BIGINT PRIMARY KEY DEFAULT nextval('refresh_run_id_seq'),
        started_at      TIMESTAMP NOT NULL,
        finished_at     TIMESTAMP,
        status          VARCHAR NOT NULL,          -- running, success, failed, dry-run
        trigger         VARCHAR NOT NULL,          -- 'db init', 'refresh', 'app'
        files_imported  INTEGER NOT NULL DEFAULT 0,
        rows_loaded     BIGINT NOT NULL DEFAULT 0,
        rows_rejected   BIGINT NOT NULL DEFAULT 0,
        series_computed INTEGER NOT NULL DEFAULT 0,
        new_signals     INTEGER NOT NULL DEFAULT 0,
        errors          VARCHAR,
        digest_json     VARCHAR
    )
    """,
    """
    CREATE TABLE result_point (
        indicator_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, period DATE NOT NULL,
        value DOUBLE, numerator DOUBLE, denominator DOUBLE,
        phase INTEGER NOT NULL, excluded BOOLEAN NOT NULL,
        centre DOUBLE, lower DOUBLE, upper DOUBLE,
        lower_2s DOUBLE, upper_2s DOUBLE, lower_1s DOUBLE, upper_1s DOUBLE,
        outside_limits BOOLEAN NOT NULL, rule VARCHAR NOT NULL, point_type VARCHAR NOT NULL,
        trial_limits BOOLEAN NOT NULL,
        PRIMARY KEY (indicator_id, area_code, period)
    )
    """,
    """
    CREATE TABLE result_phase (
        indicator_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL, phase INTEGER NOT NULL,
        start DATE, "end" DATE, n_points INTEGER, n_used INTEGER,
        centre DOUBLE, lower DOUBLE, upper DOUBLE, trial_limits BOOLEAN,
        runs_signal BOOLEAN, longest_run INTEGER, longest_run_max INTEGER,
        crossings INTEGER, crossings_min INTEGER,
        PRIMARY KEY (indicator_id, area_code, phase)
    )
    """,
    """
    CREATE TABLE result_summary (
        indicator_id VARCHAR NOT NULL, area_code VARCHAR NOT NULL,
        chart VARCHAR, improvement VARCHAR, target DOUBLE,
        variation VARCHAR, assurance VARCHAR,
        latest_period DATE, latest_value DOUBLE, latest_phase INTEGER,
        centre DOUBLE, lower DOUBLE, upper DOUBLE,
        n_points INTEGER, n_improvement INTEGER, n_concern INTEGER, n_neutral INTEGER,
        runs_signal BOOLEAN, trial_limits BOOLEAN,
        status VARCHAR,                       -- one plain-English line
        warnings VARCHAR[],
        data_loaded_at TIMESTAMP,             -- newest loaded_at of the series' observations
        computed_at TIMESTAMP NOT NULL,
        refresh_run_id BIGINT,
        PRIMARY KEY (indicator_id, area_code)
    )
    """,
    "CREATE SEQUENCE signal_id_seq START 1",
    """
    CREATE TABLE signal (
        id              BIGINT PRIMARY KEY DEFAULT nextval('signal_id_seq'),
        indicator_id    VARCHAR NOT NULL,
        area_code       VARCHAR NOT NULL,
        rule            VARCHAR NOT NULL,
        first_period    DATE NOT NULL,
        last_period     DATE NOT NULL,
        direction       VARCHAR NOT NULL,          -- high or low
        point_type      VARCHAR NOT NULL,          -- special_cause_improvement / _concern / _neutral_*
        status          VARCHAR NOT NULL CHECK (status IN ('new', 'continuing', 'ended', 'withdrawn')),
        first_seen_run  BIGINT NOT NULL,
        last_seen_run   BIGINT NOT NULL,
        updated_at      TIMESTAMP NOT NULL
    )
    """,
]

# Version 3: a national area type, so national figures (MoJ England and Wales) are stored as
# what they measure, not under the force. DuckDB cannot alter or drop a CHECK constraint, nor
# drop a table another table's foreign key refers to, so `area` and `observation` (which refers
# to it) are copied aside, dropped and recreated, all inside the migration's one transaction.
# The data move of national rows stored under a force is `spc.store.geography`, run by `db init`.
_V3 = [
    "CREATE TEMP TABLE _observation_v2 AS SELECT * FROM observation",
    "CREATE TEMP TABLE _area_v2 AS SELECT * FROM area",
    "DROP TABLE observation",
    "DROP TABLE area",
    """
    CREATE TABLE area (
        code        VARCHAR PRIMARY KEY,
        name        VARCHAR NOT NULL,
        type        VARCHAR NOT NULL CHECK (type IN ('force', 'community safety partnership area', 'district',
                                                     'national')),
        ons_code    VARCHAR,
        valid_from  DATE,
        valid_to    DATE
    )
    """,
    _OBSERVATION,
    "INSERT INTO area SELECT * FROM _area_v2",
    "INSERT INTO observation SELECT * FROM _observation_v2",
    "DROP TABLE _observation_v2",
    "DROP TABLE _area_v2",
]

# Version 4: the number of periods missing before each result point, so readers break the
# chart's line at a gap without working the grain out again (results are recomputed by db init).
_V4 = [
    "ALTER TABLE result_point ADD COLUMN gap_before INTEGER NOT NULL DEFAULT 0",
]

# Version 5: who may change what (spc.auth) and the record of every change (spc.audit).
# `app_user` holds local accounts with an argon2id hash (never the password). `audit_event` is
# append-only: spc.audit only ever inserts into it. A withdrawn annotation keeps who withdrew it
# and why, and can be reinstated (deleted_at back to NULL; the audit trail keeps both steps).
_V5 = [
    """
    CREATE TABLE app_user (
        name            VARCHAR PRIMARY KEY,       -- lower case, as typed at sign-in
        role            VARCHAR NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
        password_hash   VARCHAR NOT NULL,          -- argon2id with its own salt (argon2-cffi)
        created_at      TIMESTAMP NOT NULL,
        password_set_at TIMESTAMP NOT NULL,        -- a session signed in before this has ended
        last_sign_in    TIMESTAMP
    )
    """,
    "CREATE SEQUENCE audit_event_id_seq START 1",
    """
    CREATE TABLE audit_event (
        id              BIGINT PRIMARY KEY DEFAULT nextval('audit_event_id_seq'),
        happened_at     TIMESTAMP NOT NULL,
        actor           VARCHAR NOT NULL,          -- the signed-in name, the OS user for the CLI
        method          VARCHAR NOT NULL,          -- local, oidc, cli, anonymous
        role            VARCHAR,
        kind            VARCHAR NOT NULL,          -- setting, annotation, withdraw, refused, ... (spc.audit.KINDS)
        indicator_id    VARCHAR,
        area_code       VARCHAR,
        subject         VARCHAR,                   -- what was changed: annotation id, account name
        reason          VARCHAR,                   -- why, as the person gave it
        detail          VARCHAR                    -- JSON: the values written, or why a request was refused
    )
    """,
    "ALTER TABLE annotation ADD COLUMN withdrawn_by VARCHAR",
    "ALTER TABLE annotation ADD COLUMN withdrawn_reason VARCHAR",
]

# Version 6: whether each figure tends to be close to the one before (spc.autocorrelation), so
# every reader says the limits are too narrow where they are (issue 13). Results are recomputed
# by db init, so existing rows get the figures then.
_V6 = [
    "ALTER TABLE result_summary ADD COLUMN acf1 DOUBLE",             # lag-1 autocorrelation, latest phase
    "ALTER TABLE result_summary ADD COLUMN acf1_basis VARCHAR",      # 'values' or 'after season'
    "ALTER TABLE result_summary ADD COLUMN autocorrelated BOOLEAN NOT NULL DEFAULT false",
]

# Version 7: the analyst's choices for the charts of issue 13 (EWMA and CUSUM, per 1,000 of the
# denominator, limits per calendar month; NULL keeps the engine's default) and each series'
# chart label ("EWMA (λ 0.2)", "u chart per 1,000"), which charts show on their axis.
_V7 = [
    "ALTER TABLE series_setting ADD COLUMN ewma_lambda DOUBLE",      # EWMA weight λ
    "ALTER TABLE series_setting ADD COLUMN cusum_h DOUBLE",          # CUSUM decision interval, in σ
    "ALTER TABLE series_setting ADD COLUMN multiplier DOUBLE",       # p/u charts per N of the denominator
    "ALTER TABLE series_setting ADD COLUMN seasonal_limits BOOLEAN", # limits per calendar month
    "ALTER TABLE result_summary ADD COLUMN chart_label VARCHAR",      # spc.engine.SeriesSpec.label
]

# Version 8: what the pages show that depends only on the data, stored with the results so a
# page view only reads and draws (issue 14; spc.results.build_views): each series' narrative,
# trend, seasonality, this year against last and intervention verdicts (JSON), the observations'
# version the results came from, and the chance rate of its latest point (spc.chance).
_V8 = [
    "ALTER TABLE result_summary ADD COLUMN data_version VARCHAR",    # spc.results.data_versions
    "ALTER TABLE result_summary ADD COLUMN chance_rate DOUBLE",      # latest-point false-alarm share
    """
    CREATE TABLE result_view (
        indicator_id    VARCHAR NOT NULL,
        area_code       VARCHAR NOT NULL,
        data_version    VARCHAR,                   -- the observations these were made from
        narrative       VARCHAR,                   -- JSON: spc.narrative.describe's row (no data age)
        trend           VARCHAR,                   -- JSON: spc.trend.long_term_trend's row, or {error}
        season          VARCHAR,                   -- JSON: spc.trend.seasonality's row, or {error}
        year_on_year    VARCHAR,                   -- JSON: spc.compare.compare_periods's row, or {error}
        interventions   VARCHAR,                   -- JSON: spc.intervention.evaluations, a list
        PRIMARY KEY (indicator_id, area_code)
    )
    """,
]

# Version 9: geography from the reference lookup (issue 11; spc.geography, read through
# spc.store.areas): the force each area belongs to, the ONS local authority districts each area
# covers, and each area's mid-year population summed over its districts. Separate tables, not
# columns of `area`, because DuckDB cannot alter a table another table's foreign key refers to
# (see version 3); and none refers to `area` by a foreign key, so `area` can be rebuilt again.
# `store_setting` holds what the store was built for: name 'forces' = the --force list when it
# was made with `spc db init --force` (no row: the Staffordshire demo's store). `db init` fills
# all of them, so existing stores get their rows at their next `spc db init`.
_V9 = [
    """
    CREATE TABLE area_force (      -- a force: itself; a local area: its force; the national area: no row
        area_code       VARCHAR PRIMARY KEY,
        force_code      VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE area_district (   -- the ONS districts (LAD codes) an area covers; national: none
        area_code       VARCHAR NOT NULL,
        lad_code        VARCHAR NOT NULL,
        PRIMARY KEY (area_code, lad_code)
    )
    """,
    """
    CREATE TABLE area_population ( -- mid-year residents, summed over the area's districts
        area_code       VARCHAR NOT NULL,
        year            INTEGER NOT NULL,
        population      BIGINT NOT NULL,
        source          VARCHAR NOT NULL,          -- 'ONS mid-year population estimates, mid-2022'
        PRIMARY KEY (area_code, year)
    )
    """,
    """
    CREATE TABLE store_setting (
        name            VARCHAR PRIMARY KEY,
        value           VARCHAR NOT NULL
    )
    """,
]

MIGRATIONS: list[list[str]] = [_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version the store is at: 0 for an empty file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def migrate(con: duckdb.DuckDBPyConnection, target: int = SCHEMA_VERSION) -> int:
    """Bring the store forward to `target`, one transaction per migration. Returns the new version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    current = schema_version(con)
    for version in range(current + 1, target + 1):
        with transaction(con):
            for statement in MIGRATIONS[version - 1]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)", [version])
    return max(current, target)
