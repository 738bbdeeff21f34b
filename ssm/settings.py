"""Settings, all read from the environment (see .env.example for every variable)."""

import os
import sys
import warnings
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from core.hosts import ServerNames, interface_addresses, loopback_names, this_host_names

BASE_DIR = Path(__file__).resolve().parent.parent


class _Env(environ.FileAwareEnv):
    """django-environ, with a one-line error naming the variable when a value is bad."""

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ImproperlyConfigured:
            raise
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"{var} has an invalid value ({exc}); see .env.example"
            ) from None


env = _Env()  # any VAR may come from VAR_FILE instead
SSM_ENV_FILE = Path(os.environ.get("SSM_ENV_FILE", str(BASE_DIR / ".env")))
if SSM_ENV_FILE.exists():
    env.read_env(str(SSM_ENV_FILE))

DEBUG = env.bool("DEBUG", default=False)
SSM_VAR = Path(env.str("SSM_VAR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: put SECRET_KEY=<random string> in .env "
            "(./deploy/up writes one) or set DEBUG=true for development"
        )
    SECRET_KEY = "development-only-insecure-key"

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "core",
    "administration",
    "accounts",
    "licensing",
    "security",
    "synchronization",
    "highavailability",
]

MIDDLEWARE = [
    "core.middleware.LogLevelMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "security.middleware.RejectNulBytesMiddleware",
    "licensing.gateway.TransportGatewayMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "security.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.TimeZoneMiddleware",
    "security.middleware.PasswordExpiryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ssm.urls"
WSGI_APPLICATION = "ssm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.product",
            ],
        },
    },
]


def _database():
    """DATABASE_URL parsed, or a one-line error that names the variable and the fix."""
    url = env.str("DATABASE_URL", default="postgres://ssm@127.0.0.1:5544/ssm")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(
            f"DATABASE_URL is malformed ({exc}); expected postgres://user:password@host:port/name"
        ) from None
    if config.get("ENGINE") != "django.db.backends.postgresql" or not config.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_URL must name a PostgreSQL database: postgres://user:password@host:port/name"
        )
    options = config.setdefault("OPTIONS", {})
    options.setdefault("application_name", env.str("DATABASE_APPLICATION_NAME", default="ssm"))
    options.setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5))
    options.setdefault(
        "target_session_attrs", env.str("DATABASE_TARGET_SESSION_ATTRS", default="read-write")
    )
    # Server-side prepared statements only where the code asks for them (the Transport
    # Gateway's hot statements); Django turns them off for connection poolers, and none
    # sits between the server and PostgreSQL.
    options.setdefault("prepare_threshold", 2**31 - 1)
    # A kept connection whose server vanished (a power loss: the VIP moves on) fails within
    # seconds instead of TCP's minutes: unacknowledged data, or an idle peer that stops
    # answering keepalives, ends it; the next request connects to the new primary.
    options.setdefault("tcp_user_timeout", env.int("DATABASE_TCP_USER_TIMEOUT_MS", default=2000))
    options.setdefault("keepalives_idle", 2)
    options.setdefault("keepalives_interval", 1)
    options.setdefault("keepalives_count", 3)
    config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = True
    test_name = env.str("DATABASE_TEST_NAME", default="")
    if test_name:
        config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {"default": _database()}
# A Server-Timing header on the Transport Gateway's answers (core.timing; the benchmark's)
SERVER_TIMING = env.bool("SERVER_TIMING", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TESTING = sys.argv[1:2] == ["test"]
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6389/0")
if TESTING:  # tests keep their broker and cache apart from a running server's
    REDIS_URL = env.str("TEST_REDIS_URL", default=REDIS_URL.rsplit("/", 1)[0] + "/15")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ssm"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "security.validators.PasswordPolicyValidator"},  # length, reuse: Security widget
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Log-in lockout (django-axes): counted per user name and source address, so failures from
# one address never lock a user out elsewhere; threshold and duration come from the Account
# Password policy, the answer is the log-in page saying so (security/services/lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "security.backends.DirectoryBackend",  # Security → Authentication (off until enabled)
]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = "security.services.lockout.failure_limit"
AXES_COOLOFF_TIME = "security.services.lockout.cool_off"
AXES_CLIENT_IP_CALLABLE = "security.services.lockout.client_address"
AXES_USERNAME_CALLABLE = "security.services.lockout.lockout_username"
AXES_LOCKOUT_CALLABLE = "security.services.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # a lockout ends when it says it will
AXES_DISABLE_ACCESS_LOG = True  # successful log-ins are not kept by axes
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# At most one reset e-mail per address in this many seconds, whoever asks (0: no limit).
PASSWORD_RESET_MAIL_INTERVAL = env.int(
    "PASSWORD_RESET_MAIL_INTERVAL", default=0 if sys.argv[1:2] == ["test"] else 60
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "admin-workspace"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DATETIME_FORMAT = "Y-M-d H:i:s"
SHORT_DATETIME_FORMAT = "Y-M-d H:i:s"
DATE_FORMAT = "Y-M-d"

STATIC_URL = "static/"
STATIC_ROOT = SSM_VAR / "static"
# The server's log files (Support Center → Logs).
LOG_DIR = Path(env.str("LOG_DIR", default=str(SSM_VAR / "log")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Static files are collected at web start (deploy/services); before that, finders serve them.
warnings.filterwarnings("ignore", message="No directory at")

# Security: HTTPS everywhere, cookies only over TLS, no framing.
# nginx terminates TLS and is the only client of the application server's Unix socket.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # pages carry the token (forms, hx-headers); scripts never read it
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    # refuses NaN, Infinity, NUL characters and nesting deeper than Python can parse (400)
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smart Software Manager On-Prem API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The API reference page (Swagger UI) is served from this server: no CDN on-premises.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"SynchronizationModeEnum": "accounts.choices.SyncMode"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "licensing.api.schema.add_product_endpoints",
    ],
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# the queue tasks are sent to and the worker consumes (tests running in parallel on one
# broker give each process's worker a queue of its own)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
HA_COLLECT_INTERVAL = env.float("HA_COLLECT_INTERVAL", default=2.0)
if not 0.5 <= HA_COLLECT_INTERVAL <= 60:
    raise ImproperlyConfigured("HA_COLLECT_INTERVAL must be between 0.5 and 60 seconds")
# Settings → Syslog: events go to the syslog servers every interval, once they are SYSLOG_SETTLE
# seconds old (core/syslog.py).
SYSLOG_FORWARD_INTERVAL = env.float("SYSLOG_FORWARD_INTERVAL", default=2.0)
SYSLOG_SETTLE = env.float("SYSLOG_SETTLE", default=3.0)

# Settings → Time: chrony (Debian's) follows the NTP servers chosen there when this folder is
# writable (its chrony.conf has "sourcedir /etc/chrony/sources.d"); chronyc asks chronyd
# through CHRONY_SOCKET (empty: chronyc's default).
CHRONY_SOURCES_DIR = Path(env.str("CHRONY_SOURCES_DIR", default="/etc/chrony/sources.d"))
CHRONY_SOCKET = env.str("CHRONY_SOCKET", default="")

CELERY_BEAT_SCHEDULE: dict = {
    # Network-mode accounts synchronize with CSC when 30 days have passed (checked hourly).
    "queue-due-synchronizations": {
        "task": "synchronization.queue_due_synchronizations",
        "schedule": env.float("SYNC_CHECK_INTERVAL", default=3600.0),
    },
    # Products' used nonces are kept only as long as their timestamps are acceptable.
    "purge-used-nonces": {"task": "licensing.purge_used_nonces", "schedule": 600.0},
    # License Workspace alerts e-mailed as each account's Preferences ask.
    "notify-alerts": {
        "task": "licensing.notify_alerts",
        "schedule": env.float("ALERT_NOTIFY_INTERVAL", default=300.0),
        "options": {"expires": 300.0},
    },
    # Failure counts of names that are no user are not kept without end.
    "forget-failed-logins": {"task": "security.forget_failed_logins", "schedule": 3600.0},
    # Event-log entries forwarded to the remote syslog servers (Settings → Syslog).
    "forward-events": {
        "task": "core.forward_events",
        "schedule": SYSLOG_FORWARD_INTERVAL,
        "options": {"expires": SYSLOG_FORWARD_INTERVAL},
    },
    # The HA widget's picture: cluster state collected on the active node (beat runs there);
    # a collection not started within one interval is dropped, never queued up.
    "collect-cluster-state": {
        "task": "highavailability.collect_cluster_state",
        "schedule": HA_COLLECT_INTERVAL,
        "options": {"expires": HA_COLLECT_INTERVAL},
    },
}

# Settings → Email's SMTP server; without one, e-mails are written to the log.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="core.mail.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ssm-onprem@localhost")

# The mock Cisco Software Central, reached over HTTPS only.
CSC_URL = env.str("CSC_URL", default="https://127.0.0.1:8444")
CSC_CA_FILE = env.str("CSC_CA_FILE", default=str(SSM_VAR / "csc" / "tls" / "csc.crt"))
CSC_TIMEOUT = env.float("CSC_TIMEOUT", default=10.0)
SATELLITE_NAME = env.str("SATELLITE_NAME", default="")  # empty: the host name

# What products are configured with: the Host Common Name until one is set in Security (empty:
# this server's address), and the HTTPS port in their URLs (default: SSM_BIND's; 443 is left
# out). With NETWORK_DUAL_STACK the Host Common Name must be an FQDN.
SSM_BIND = env.str("SSM_BIND", default="0.0.0.0:8443")
HOST_COMMON_NAME = env.str("HOST_COMMON_NAME", default="")
_port = env.str("PRODUCT_URL_PORT", default="") or SSM_BIND.rsplit(":", 1)[-1]
if not _port.isdigit() or not 0 < int(_port) < 65536:
    raise ImproperlyConfigured(
        f"PRODUCT_URL_PORT (or the port of SSM_BIND) is not a TCP port: {_port!r}; see .env.example"
    )
PRODUCT_URL_PORT = int(_port)
NETWORK_DUAL_STACK = env.bool("NETWORK_DUAL_STACK", default=False)

# The HTTPS server's certificate ("Browser Certificate"), and the pid file of the process
# (nginx's master) that reloads it.
BROWSER_CERT_DIR = Path(env.str("BROWSER_CERT_DIR", default=str(SSM_VAR / "tls")))
WEB_PID_FILE = env.str("WEB_PID_FILE", default=str(SSM_VAR / "run" / "web-nginx.pid"))

# Encrypts the product CA's private key at rest (in PostgreSQL, shared by both HA nodes, so
# both nodes need the same value). Defaults to a key derived from SECRET_KEY.
PRODUCT_CA_ENCRYPTION_KEY = env.str("PRODUCT_CA_ENCRYPTION_KEY", default="") or (
    "derived-from-secret-key:" + SECRET_KEY
)

# A cluster node (highavailability).
# HA_PG_BIN, HA_PG_DATA, HA_PG_SOCKET_DIR, HA_PG_PORT: the PostgreSQL instance that pacemaker
# (PAF) manages on this node. HA_VIP (with HA_VIP_PREFIXLEN on HA_VIP_NIC): the virtual
# address. HA_COROSYNC_CONF, HA_CIB_DIR, HA_RUN_DIR: where the cluster keeps its
# configuration and pid files. HA_KEY_DIR: this node's cluster key pair and known hosts
# (ha_generatekeys); HA_AUTHORIZED_KEYS: where ha_provision_standby lets the primary in.
# The rest are the cluster's timing, fencing and quorum-device choices that ha_deploy writes
# into corosync.conf and the CIB (docs/ha.md explains each value).
HA_PG_BIN = Path(env.str("HA_PG_BIN", default="/usr/lib/postgresql/15/bin"))
# Defaults: the server's own PostgreSQL as deploy/services runs it (a host's stand-alone
# server becomes a cluster node as it is); the one-machine lab sets its own.
HA_PG_DATA = Path(env.str("HA_PG_DATA", default=str(SSM_VAR / "pg")))
HA_PG_SOCKET_DIR = env.str("HA_PG_SOCKET_DIR", default=str(SSM_VAR / "run" / "pg"))
HA_PG_PORT = env.int("HA_PG_PORT", default=env.int("PG_PORT", default=5544))
HA_VIP = env.str("HA_VIP", default="")
HA_VIP_PREFIXLEN = env.int("HA_VIP_PREFIXLEN", default=24)
# empty: the interface whose network holds the VIP (IPaddr2 finds it)
HA_VIP_NIC = env.str("HA_VIP_NIC", default="")
HA_COROSYNC_CONF = Path(env.str("HA_COROSYNC_CONF", default="/etc/corosync/corosync.conf"))
HA_CIB_DIR = Path(env.str("HA_CIB_DIR", default="/var/lib/pacemaker/cib"))
HA_RUN_DIR = Path(env.str("HA_RUN_DIR", default="/run"))

HA_KEY_DIR = Path(env.str("HA_KEY_DIR", default=str(SSM_VAR / "ha")))
HA_AUTHORIZED_KEYS = Path(env.str("HA_AUTHORIZED_KEYS", default="/root/.ssh/authorized_keys"))
# where the application resource finds <node name>/app/ssm.env on every node
HA_APP_STATE_DIR = env.str("HA_APP_STATE_DIR", default="")
# networks allowed to reach PostgreSQL (replication and the application), space separated
HA_TRUSTED_NETWORKS = env.str("HA_TRUSTED_NETWORKS", default="").split()

HA_COROSYNC_TOKEN = env.int("HA_COROSYNC_TOKEN", default=2000)
HA_COROSYNC_CONSENSUS = env.int("HA_COROSYNC_CONSENSUS", default=2400)
HA_DC_DEADTIME = env.str("HA_DC_DEADTIME", default="3s")
HA_PG_MONITOR_PROMOTED = env.str("HA_PG_MONITOR_PROMOTED", default="15s")
HA_PG_MONITOR_UNPROMOTED = env.str("HA_PG_MONITOR_UNPROMOTED", default="16s")
HA_FENCE_AGENT = env.str("HA_FENCE_AGENT", default="")
HA_FENCE_PARAMS = env.str("HA_FENCE_PARAMS", default="").split()
HA_STONITH_ACTION = env.str("HA_STONITH_ACTION", default="off")
HA_PRIORITY_FENCING_DELAY = env.str("HA_PRIORITY_FENCING_DELAY", default="5s")
HA_QDEVICE_HOST = env.str("HA_QDEVICE_HOST", default="")
HA_QDEVICE_PORT = env.int("HA_QDEVICE_PORT", default=5403)
HA_QDEVICE_TIMEOUT = env.int("HA_QDEVICE_TIMEOUT", default=3000)
HA_QDEVICE_SYNC_TIMEOUT = env.int("HA_QDEVICE_SYNC_TIMEOUT", default=6000)
HA_DEPLOY_TIMEOUT = env.int("HA_DEPLOY_TIMEOUT", default=240)
# CPU niceness of pacemaker and what it starts (the application agent resets its own to 0)
HA_CLUSTER_NICE = env.int("HA_CLUSTER_NICE", default=-10)

# The host names the server answers to (any other Host header gets a 400, so no link or
# redirect is ever built from a name an attacker chose): loopback, this machine's names, the
# Host Common Name (from the environment, and the one set in Security: security's app adds
# it), the VIP, this node's current addresses, and ALLOWED_HOSTS for anything else (a DNS
# alias; "*" answers to every name).
ALLOWED_HOSTS = ServerNames(
    [
        *loopback_names(),
        *this_host_names(),
        *[h for h in (HOST_COMMON_NAME.strip().lower(), HA_VIP) if h],
        *env.list("ALLOWED_HOSTS", default=[]),
    ],
    sources=[interface_addresses],
)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()  # until one is chosen at run time
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Tests provoke 4xx answers on purpose; only server errors are worth a line there.
    # A refused Host header is one line (no traceback) outside tests, and none in tests.
    "loggers": {
        "django.request": {"level": "ERROR" if TESTING else "WARNING"},
        "django.security.DisallowedHost": {"level": "CRITICAL" if TESTING else "ERROR"},
        "axes": {"level": "WARNING"},  # not a line per log-in
        "django_auth_ldap": {"level": "ERROR" if TESTING else "INFO"},
    },
}
if TESTING:  # a fast hasher keeps password tests quick; the server itself uses PBKDF2
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
