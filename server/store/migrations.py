"""Every schema change, as a named migration applied once in order."""
from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("counter-eval")


def _run(db: Database, script: str) -> None:
    """Statement by statement: executescript() would commit the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations()
def m001_initial(db: Database) -> None:
    _run(db, """
    CREATE TABLE devices (
        device TEXT PRIMARY KEY,
        window TEXT,
        confirmed INTEGER NOT NULL DEFAULT 0,
        online INTEGER NOT NULL DEFAULT 0,
        presence TEXT,
        outbox INTEGER,
        version TEXT,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        rejected INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE windows (
        window TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        device TEXT,
        presence TEXT NOT NULL DEFAULT 'present',
        staff TEXT,
        open_absence INTEGER
    );
    CREATE TABLE streams (
        stream TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        upto_seq INTEGER NOT NULL DEFAULT 0,
        max_seq INTEGER NOT NULL DEFAULT 0,
        gap_since INTEGER
    );
    -- seqs already handled beyond a stream's contiguous upto_seq
    CREATE TABLE stream_ahead (
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (stream, seq)
    ) WITHOUT ROWID;
    CREATE TABLE gaps (
        id INTEGER PRIMARY KEY,
        stream TEXT NOT NULL,
        device TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        to_seq INTEGER NOT NULL,
        declared_at INTEGER NOT NULL
    );
    CREATE TABLE events (
        id TEXT PRIMARY KEY,
        device TEXT NOT NULL,
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        window TEXT NOT NULL,
        staff TEXT,
        ts TEXT NOT NULL,
        at INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        retimed INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL
    );
    CREATE UNIQUE INDEX events_stream_seq ON events (stream, seq);
    CREATE TABLE ratings (
        event_id TEXT PRIMARY KEY REFERENCES events (id),
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        score INTEGER NOT NULL,
        scale INTEGER NOT NULL,
        reasons TEXT
    );
    CREATE INDEX ratings_window_at ON ratings (window, at, scale, score);
    CREATE INDEX ratings_staff_at ON ratings (staff, at);
    CREATE TABLE feedback (
        event_id TEXT PRIMARY KEY REFERENCES events (id),
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        text TEXT NOT NULL,
        rating_id TEXT
    );
    CREATE INDEX feedback_window_at ON feedback (window, at);
    CREATE TABLE absences (
        id INTEGER PRIMARY KEY,
        window TEXT NOT NULL,
        staff TEXT,
        start_at INTEGER NOT NULL,
        end_at INTEGER,
        start_event TEXT NOT NULL,
        end_event TEXT
    );
    CREATE INDEX absences_window_start ON absences (window, start_at);
    CREATE TABLE rejects (
        id INTEGER PRIMARY KEY,
        received_at INTEGER NOT NULL,
        device TEXT,
        topic TEXT NOT NULL,
        reason TEXT NOT NULL,
        stream TEXT,
        seq INTEGER,
        payload BLOB
    );
    CREATE INDEX rejects_device ON rejects (device, received_at);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    """)


@migrations()
def m002_device_sensor(db: Database) -> None:
    """The away-sign sensor's health as the kiosk's status reports it."""
    db.execute("ALTER TABLE devices ADD COLUMN sensor TEXT")


@migrations()
def m003_accounts(db: Database) -> None:
    """Managers' accounts for the web app, and failed log-ins for its rate limit."""
    _run(db, """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
        sites TEXT,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE login_failures (
        key TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX login_failures_key_at ON login_failures (key, at)
    """)


@migrations()
def m004_registry(db: Database) -> None:
    """Sites (halls) with opening hours, windows in sites, the clerk roster, comments from phones,
    the configs sent to kiosks, and one table of timed attempts for every rate limit."""
    _run(db, """
    CREATE TABLE sites (
        site TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL DEFAULT 'Asia/Shanghai',
        hours TEXT NOT NULL DEFAULT '{}',
        public INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE windows ADD COLUMN site TEXT;
    CREATE TABLE staff (
        staff TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        site TEXT,
        pin_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1
    );
    ALTER TABLE devices ADD COLUMN config_sent TEXT;
    ALTER TABLE devices ADD COLUMN config_sent_at INTEGER;
    ALTER TABLE feedback ADD COLUMN channel TEXT NOT NULL DEFAULT 'kiosk';
    DROP INDEX ratings_staff_at;
    CREATE INDEX ratings_staff_at ON ratings (staff, at, scale, score);
    CREATE INDEX feedback_staff_at ON feedback (staff, at);
    CREATE INDEX absences_staff_start ON absences (staff, start_at);
    ALTER TABLE login_failures RENAME TO attempts;
    DROP INDEX login_failures_key_at;
    CREATE INDEX attempts_key_at ON attempts (key, at)
    """)


@migrations()
def m005_window_clerk(db: Database) -> None:
    """The clerk a manager assigns to a window: the kiosk shows them (config `staff`) until someone signs in."""
    db.execute("ALTER TABLE windows ADD COLUMN clerk TEXT")


@migrations()
def m006_reasons_index(db: Database) -> None:
    """Reasons ranked for a window's range without reading its ratings that gave none."""
    db.execute("CREATE INDEX ratings_window_reasons ON ratings (window, at, reasons) WHERE reasons IS NOT NULL")


@migrations()
def m007_follow_up(db: Database) -> None:
    """Bad-review follow-up (cases, their audit trail, appeals), the holiday calendar, case numbers bound to
    ratings, alerts and their deliveries, scheduled report runs, and settings an admin changes."""
    _run(db, """
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL          -- JSON
    );
    -- the admin's corrections to the calendar package: a day off (holiday) or a make-up working day
    CREATE TABLE holidays (
        day TEXT PRIMARY KEY,        -- YYYY-MM-DD
        kind TEXT NOT NULL CHECK (kind IN ('off', 'work')),
        name TEXT
    );
    ALTER TABLE ratings ADD COLUMN case_no TEXT;
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        rating_id TEXT NOT NULL UNIQUE,
        window TEXT NOT NULL,
        staff TEXT,
        score INTEGER NOT NULL,
        scale INTEGER NOT NULL,
        case_no TEXT,
        opened_at INTEGER NOT NULL,
        due_date TEXT NOT NULL,      -- the last working day (local date) to finish by
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        assignee TEXT,
        callback_at INTEGER,
        verdict TEXT CHECK (verdict IN ('satisfied', 'basically', 'unsatisfied')),
        closed_at INTEGER
    );
    CREATE INDEX cases_status_due ON cases (status, due_date);
    CREATE INDEX cases_window_opened ON cases (window, opened_at);
    CREATE INDEX cases_staff_opened ON cases (staff, opened_at);
    CREATE TABLE case_log (
        id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases (id),
        at INTEGER NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,        -- opened, assigned, note, callback, verdict, closed, reopened
        detail TEXT
    );
    CREATE INDEX case_log_case ON case_log (case_id, at);
    CREATE TABLE appeals (
        id INTEGER PRIMARY KEY,
        rating_id TEXT NOT NULL,
        window TEXT NOT NULL,
        staff TEXT,
        filed_at INTEGER NOT NULL,
        filed_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'upheld', 'rejected')),
        decided_at INTEGER,
        decided_by TEXT,
        decision_note TEXT
    );
    CREATE UNIQUE INDEX appeals_one_standing ON appeals (rating_id) WHERE status != 'rejected';
    -- ratings an upheld appeal took out of every statistic (the event stays in `events`)
    CREATE TABLE excluded_ratings (
        event_id TEXT PRIMARY KEY,
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        score INTEGER NOT NULL,
        scale INTEGER NOT NULL,
        reasons TEXT,
        case_no TEXT,
        appeal_id INTEGER NOT NULL REFERENCES appeals (id)
    );
    CREATE TABLE alert_rules (
        id INTEGER PRIMARY KEY,
        site TEXT,                   -- NULL: every site
        kind TEXT NOT NULL CHECK (kind IN ('unsatisfied', 'absence', 'unstaffed', 'offline', 'gap')),
        params TEXT NOT NULL DEFAULT '{}',
        enabled INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule_id INTEGER,
        kind TEXT NOT NULL,
        site TEXT,
        window TEXT,
        device TEXT,
        key TEXT NOT NULL,           -- what makes two alerts the same condition
        message TEXT NOT NULL,
        first_at INTEGER NOT NULL,
        last_at INTEGER NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        acked_at INTEGER,
        acked_by TEXT
    );
    CREATE INDEX alerts_key ON alerts (key, last_at);
    CREATE INDEX alerts_open ON alerts (acked_at, last_at);
    CREATE TABLE alert_targets (
        id INTEGER PRIMARY KEY,
        site TEXT,                   -- NULL: every site
        kind TEXT NOT NULL CHECK (kind IN ('webhook', 'wecom', 'dingtalk', 'email')),
        address TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1
    );
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        target_id INTEGER NOT NULL REFERENCES alert_targets (id),
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT,
        sent_at INTEGER
    );
    CREATE INDEX deliveries_due ON deliveries (status, next_at);
    CREATE TABLE report_runs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('daily', 'monthly')),
        period TEXT NOT NULL,        -- YYYY-MM-DD or YYYY-MM
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
        content BLOB,                -- the XLSX
        emailed_to TEXT,
        error TEXT,
        UNIQUE (kind, period)
    )
    """)


@migrations()
def m008_invites(db: Database) -> None:
    """A window's business system asks the kiosk to invite a rating for a case (办件编号); the collector
    sends each invite to the window's kiosk."""
    _run(db, """
    CREATE TABLE invites (
        id INTEGER PRIMARY KEY,
        window TEXT NOT NULL,
        case_no TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        requested_by TEXT,
        device TEXT,
        sent_at INTEGER
    );
    CREATE INDEX invites_unsent ON invites (sent_at, created_at)
    """)


@migrations()
def m009_window_config(db: Database) -> None:
    """What a manager sets for a window's kiosk besides title and clerk (scale, labels, reasons, language,
    away text, phrases), as a JSON object; the collector sends it in the kiosk's config."""
    db.execute("ALTER TABLE windows ADD COLUMN config TEXT")


@migrations()
def m010_alert_text(db: Database) -> None:
    """An alert's message as a template and its values (JSON), so the pages show it in the reader's language;
    `message` keeps the Chinese that deliveries send. NULL for alerts raised before."""
    db.execute("ALTER TABLE alerts ADD COLUMN text TEXT")


@migrations()
def m011_window_first_at(db: Database) -> None:
    """When each window's first event happened: its staffed share counts from then on, not from before its
    kiosk was there. Filled from the events stored so far (one pass over them)."""
    db.execute("ALTER TABLE windows ADD COLUMN first_at INTEGER")
    db.execute("UPDATE windows SET first_at = f.first FROM (SELECT window, min(at) AS first FROM events "
               "GROUP BY window) AS f WHERE f.window = windows.window")


@migrations()
def m012_device_assignments(db: Database) -> None:
    """Which window each confirmed kiosk served, and since when (until when): a kiosk's events count only for
    the window it was assigned to at the event's time. Filled from today's registry so that nothing already
    stored or still queued on a kiosk is rejected: each confirmed device's window since its first event there
    or first contact (0 when unknown), and every other window its stored events named up to now (a kiosk moved
    before this upgrade). Also what keeps the newest rejected messages per device cheap to find and cap."""
    _run(db, """
    CREATE TABLE device_windows (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        window TEXT NOT NULL,
        since INTEGER NOT NULL,      -- epoch ms
        until INTEGER                -- epoch ms, NULL while it is the device's window
    );
    CREATE INDEX device_windows_device ON device_windows (device, since);
    CREATE INDEX rejects_device_id ON rejects (device, id);
    INSERT INTO device_windows (device, window, since, until)
    SELECT d.device, e.window, e.first, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    FROM devices d JOIN (SELECT device, window, min(at) AS first FROM events GROUP BY device, window) e
      ON e.device = d.device AND e.window != d.window
    WHERE d.confirmed = 1 AND d.window IS NOT NULL;
    INSERT INTO device_windows (device, window, since)
    SELECT d.device, d.window, min(coalesce(d.first_seen, 0),
                                   coalesce((SELECT min(at) FROM events e WHERE e.device = d.device
                                             AND e.window = d.window), d.first_seen, 0))
    FROM devices d WHERE d.confirmed = 1 AND d.window IS NOT NULL
    """)


@migrations()
def m013_sessions(db: Database) -> None:
    """Sessions a server can end: each user's session token (in the session cookie; rotated on logout, password
    change and disabling); API tokens can be revoked. Log-in and phone limits moved to Flask-Limiter: their rows
    in `attempts` (a failed log-in kept its user name whole) go."""
    db.execute("ALTER TABLE users ADD COLUMN session_token TEXT")
    db.execute("UPDATE users SET session_token = lower(hex(randomblob(24)))")
    db.execute("ALTER TABLE tokens ADD COLUMN revoked_at INTEGER")
    db.execute("DELETE FROM attempts WHERE key LIKE 'login-%' OR key LIKE 'comment-%'")


@migrations()
def m014_admin_log(db: Database) -> None:
    """What admins did that is not a case's or an appeal's own history (a window removed, or merged into
    another): when, who, what, and its details as JSON."""
    _run(db, """
    CREATE TABLE admin_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,         -- epoch ms
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}'   -- JSON
    );
    CREATE INDEX admin_log_at ON admin_log (at)
    """)


@migrations()
def m015_device_health(db: Database) -> None:
    """What a kiosk's status says of its own health beyond the sensor: its outbox cannot store events (`storage`:
    'full' or 'error', since when by the server's clock), and the last count of acks beyond its last seq it
    ignored since it started (a forged ack), with that ack's upto_seq and when the server learned of it."""
    db.execute("ALTER TABLE devices ADD COLUMN storage TEXT")
    db.execute("ALTER TABLE devices ADD COLUMN storage_since INTEGER")
    db.execute("ALTER TABLE devices ADD COLUMN ignored_acks INTEGER")
    db.execute("ALTER TABLE devices ADD COLUMN ignored_upto_seq INTEGER")
    db.execute("ALTER TABLE devices ADD COLUMN ignored_ack_at INTEGER")


@migrations()
def m017_reason_labels(db: Database) -> None:
    """Every reason any window was ever configured with, by its code: its label and optional English label
    (`label_en`), kept when the reason is later removed, so reports show labels, not codes, for every rating
    ever given. A trigger fills it from each windows.config written (whatever writes it), the latest label of a
    code winning; the configs already saved fill it now."""
    db.execute("""
    CREATE TABLE reason_labels (
        code TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        label_en TEXT                 -- NULL: none configured
    )""")
    keep = """
        INSERT INTO reason_labels (code, label, label_en)
        SELECT json_extract(r.value, '$.code'), json_extract(r.value, '$.label'),
               CASE WHEN json_type(r.value, '$.label_en') = 'text'
                    THEN nullif(trim(json_extract(r.value, '$.label_en')), '') END
        FROM {source} json_each(CASE WHEN json_valid({config}) THEN {config} ELSE '{{}}' END, '$.reasons') r
        WHERE json_type({config}, '$.reasons') = 'array' AND r.type = 'object'
          AND json_type(r.value, '$.code') = 'text' AND json_type(r.value, '$.label') = 'text'
        ON CONFLICT (code) DO UPDATE SET label = excluded.label, label_en = excluded.label_en"""
    for name, event in (("insert", "INSERT"), ("update", "UPDATE OF config")):
        db.execute(f"""
        CREATE TRIGGER windows_reason_labels_{name} AFTER {event} ON windows
        WHEN json_valid(NEW.config) BEGIN {keep.format(source="", config="NEW.config")}; END""")
    db.execute(keep.format(source="windows w,", config="w.config").replace("WHERE ", "WHERE json_valid(w.config) AND "))


@migrations()
def m019_cli(db: Database) -> None:
    """Whether a device was ever heard from (`heard`): `ceval device add` registers a kiosk before it connects,
    and `last_seen` then holds the registration, which `device list` and /fleet must show as "never". Devices
    known before: heard unless nothing but the registration ever named them (no status, event or reject)."""
    db.execute("ALTER TABLE devices ADD COLUMN heard INTEGER NOT NULL DEFAULT 1")
    db.execute("""
    UPDATE devices SET heard = 0
    WHERE confirmed = 1 AND online = 0 AND version IS NULL AND rejected = 0 AND first_seen = last_seen
      AND NOT EXISTS (SELECT 1 FROM streams s WHERE s.device = devices.device)""")


@migrations()
def m020_signing(db: Database) -> None:
    """Signed, chained events (shared/signing.py): the key each kiosk reports (`devices.key`), the keys admins
    pinned (`device_pins`, one open row per device; `key` filled once the kiosk reported the pinned one), and
    each chained event's `prev` and content `digest`, kept when retention blanks its payload."""
    _run(db, """
    ALTER TABLE devices ADD COLUMN key TEXT;
    CREATE TABLE device_pins (
        id INTEGER PRIMARY KEY,
        device TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        key TEXT,
        pinned_at INTEGER NOT NULL,
        pinned_by TEXT NOT NULL,
        unpinned_at INTEGER
    );
    CREATE UNIQUE INDEX device_pins_open ON device_pins (device) WHERE unpinned_at IS NULL;
    ALTER TABLE events ADD COLUMN prev BLOB;
    ALTER TABLE events ADD COLUMN digest BLOB
    """)


@migrations()
def m021_served(db: Database) -> None:
    """Customers served at a window (参评率: ratings per served customer), as a window's business or queueing
    system posts them (a count, or one case number each) and as invites for a case number imply; a case number
    counts once per window. `staff`: the clerk on duty then, where the server can tell."""
    _run(db, """
    CREATE TABLE served (
        id INTEGER PRIMARY KEY,
        window TEXT NOT NULL,
        staff TEXT,
        at INTEGER NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 1),
        case_no TEXT,
        source TEXT NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX served_case ON served (window, case_no) WHERE case_no IS NOT NULL;
    CREATE INDEX served_window_at ON served (window, at);
    CREATE INDEX served_staff_at ON served (staff, at);
    INSERT OR IGNORE INTO served (window, at, count, case_no, source, received_at)
    SELECT window, min(created_at), 1, case_no, 'invite', min(created_at) FROM invites GROUP BY window, case_no
    """)


@migrations()
def m022_clerk_sessions(db: Database) -> None:
    """Clerks sign in to the web app with staff number and PIN to read their own feedback: each clerk's session
    token (in the session cookie), rotated when they sign out or their PIN changes."""
    db.execute("ALTER TABLE staff ADD COLUMN session_token TEXT")
    db.execute("UPDATE staff SET session_token = lower(hex(randomblob(24)))")


@migrations()
def m023_misuse(db: Database) -> None:
    """Misuse flags (server/domain/misuse.py): each flagged rating's reasons (`rating_flags`), `ratings.flagged`,
    and `ratings.counted`: whether the official figures count it (all ratings, or those unflagged, as its site
    decides). The figures' index holds `counted`, so they are read from it alone as before."""
    _run(db, """
    ALTER TABLE ratings ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE ratings ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE rating_flags (
        event_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        detail TEXT NOT NULL,
        flagged_at INTEGER NOT NULL,
        PRIMARY KEY (event_id, rule)
    );
    DROP INDEX ratings_window_at;
    CREATE INDEX ratings_window_at ON ratings (window, at, counted, scale, score);
    CREATE INDEX ratings_flagged ON ratings (window, at) WHERE flagged = 1
    """)


@migrations()
def m024_served_clerk(db: Database) -> None:
    """Who was on duty at a window at a moment (a served customer's clerk, 参评率): the window's last sign-in or
    sign-out (its kiosk's `staff` events) is found by this small index instead of a scan of every event."""
    db.execute("CREATE INDEX events_staff_changes ON events (window, at) WHERE type = 'staff'")


@migrations()
def m025_window_clerk_figures(db: Database) -> None:
    """The figures' index also holds the clerk, so a window report's breakdown by clerk (a row per staff number)
    is read from it alone, as the window's own figures are: at a city's 100 million ratings it looked up a year's
    ratings of the window one table row at a time, each on a page of its own. The same size a row, give or take
    the staff number; made again in one pass (minutes at 100 million ratings, seconds for a hall)."""
    _run(db, """
    DROP INDEX ratings_window_at;
    CREATE INDEX ratings_window_at ON ratings (window, at, counted, scale, score, staff)
    """)


@migrations()
def m026_site_members(db: Database) -> None:
    """A site's windows and clerks by index: the site choice of every city page counts each site's windows and
    active clerks (registry.sites), which read all 5,000 windows and 10,000 clerks once per site (60 ms a
    request with 50 sites); the windows of one site (reports.windows) are found the same way."""
    _run(db, """
    CREATE INDEX windows_site ON windows (site);
    CREATE INDEX staff_site ON staff (site, active)
    """)


@migrations()
def m027_delivery_lookups(db: Database) -> None:
    """Deliveries by their alert and a target's sent ones by index: merging an alert into one still open asks
    when it was last sent (last_notice), and each run of the deliveries asks when a target was last sent to (its
    rate limit, sent_times); both read every delivery ever, 150 to 400 ms each at a city-year's 3.6 million."""
    _run(db, """
    CREATE INDEX deliveries_alert ON deliveries (alert_id);
    CREATE INDEX deliveries_sent ON deliveries (target_id, sent_at) WHERE status = 'sent'
    """)


@migrations()
def m028_windows_by_device(db: Database) -> None:
    """A window by the kiosk it names: an unconfirmed kiosk's window is the one whose `device` it is (DEVICE_WINDOW,
    server/store/registry.py), asked for each such kiosk by the devices pages and the offline alerts, and giving a
    window's kiosk to another clears it from every window that named it; each read all of a city's 5,000 windows
    (10 ms a run of the alerts with 500 kiosks not yet confirmed, 2 ms by this index)."""
    db.execute("CREATE INDEX windows_device ON windows (device)")


@migrations()
def m029_presences_by_stream(db: Database) -> None:
    """A stream's presence events by index: each batch applies the away sign's changes it made contiguous in seq
    order (presences_between), and looked for them among all of the batch's events of each stream, reading every
    row for its type (2,000 rows a batch of ratings for none: 0.7 µs of the 39 µs an event took to store, timed
    alone; docs/scaling.md)."""
    db.execute("CREATE INDEX events_presences ON events (stream, seq) WHERE type = 'presence'")
