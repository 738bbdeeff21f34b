"""Settings of the mock Cisco Software Central: its own process, port, data store and keys.

Environment: SSM_VAR (state folder), CSC_DATA_DIR (default $SSM_VAR/csc: the sqlite data
store, the signing CA and the HTTPS certificate), CSC_SECRET_KEY (else generated into the
data folder), CSC_CONTROL_TOKEN (enables the /control/ fault-injection API when set),
CSC_TLS_NAMES (extra host names / addresses for the HTTPS certificate).
"""

import os
import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()
_env_file = os.environ.get("SSM_ENV_FILE", str(BASE_DIR / ".env"))
if os.path.exists(_env_file):
    env.read_env(_env_file)

SSM_VAR = Path(env.str("SSM_VAR", default=str(BASE_DIR / "var")))
CSC_DATA_DIR = Path(env.str("CSC_DATA_DIR", default=str(SSM_VAR / "csc")))
CSC_DATA_DIR.mkdir(parents=True, exist_ok=True)
CSC_TLS_DIR = CSC_DATA_DIR / "tls"
CSC_CA_DIR = CSC_DATA_DIR / "ca"
CSC_CONTROL_TOKEN = env.str("CSC_CONTROL_TOKEN", default="")
CSC_TLS_NAMES = env.list("CSC_TLS_NAMES", default=[])


def _secret_key() -> str:
    value = env.str("CSC_SECRET_KEY", default="")
    if value:
        return value
    path = CSC_DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mockcsc",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "mockcsc.urls"
WSGI_APPLICATION = "mockcsc.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": CSC_DATA_DIR / "csc.sqlite3",
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
STATIC_ROOT = CSC_DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "cscsessionid"
CSRF_COOKIE_NAME = "csccsrftoken"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
