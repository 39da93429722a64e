"""Settings, read from the environment (django-environ) with safe development defaults.

With nothing set the site runs on embedded defaults: SQLite under ``var/`` and Celery's
filesystem transport (no server). Set ``DATABASE_URL`` and ``CELERY_BROKER_URL`` for
PostgreSQL and Redis. See ``.env.example``.
"""

from datetime import timedelta
from pathlib import Path

import environ
import orjson

from musicsite.env import Env
from musicsite.observability import sentry_init
from musicsite.security import proxy_ssl_header, secret_key_checked

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = env.path("VAR_DIR", default=str(BASE_DIR / "var"))
Path(VAR_DIR).mkdir(parents=True, exist_ok=True)

# Production unless told otherwise: `make run` turns DEBUG and demo mode on (Makefile).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Demo mode creates the accounts with published passwords (the demo login, the demo
# listeners); outside it no such account is created or keeps working (accounts/demo_mode.py).
DEMO_MODE = env.bool("DJANGO_DEMO_MODE", default=False)
# With DEBUG off a missing, placeholder or short key stops the process (musicsite/security.py).
SECRET_KEY = secret_key_checked(key=env("DJANGO_SECRET_KEY", default=""), debug=DEBUG)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS behind a TLS-terminating proxy: all on by default in production (DEBUG off), each
# switchable (README "Configuration"). The proxy must set X-Forwarded-Proto and drop a
# client's own; DJANGO_SECURE_PROXY_SSL_HEADER= (empty) trusts no header.
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(
    env("DJANGO_SECURE_PROXY_SSL_HEADER", default="" if DEBUG else "X-Forwarded-Proto")
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",  # hashed API tokens, one per device (accounts.ApiToken)
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "health_check",  # /health/: database, cache, broker (musicsite/health.py)
    "accounts",
    "catalog",
    "recommender",
    "generator",
]

MIDDLEWARE = [
    # First: a container's own probe of /health/ skips the host check and HTTPS redirect.
    "musicsite.health.LoopbackHealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # X-RateLimit-* on the API's throttled responses (musicsite/throttling.py).
    "musicsite.throttling.RateLimitHeadersMiddleware",
    # The front page shows the demo import's progress while `make run` imports it.
    "catalog.demo_progress.DemoImportMiddleware",
]

ROOT_URLCONF = "musicsite.urls"
WSGI_APPLICATION = "musicsite.wsgi.application"

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
            ],
        },
    },
]

# Database: SQLite file under var/ unless DATABASE_URL is set (postgres://...).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{Path(VAR_DIR) / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + immediate transactions let the web process and the workers write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side parameters, and statements prepared once a connection has run them five
    # times: PostgreSQL then skips parsing and planning the per-request lookups of the API
    # (half its CPU per feed page). Set DATABASE_PREPARE_THRESHOLD=0 behind a pooler in
    # transaction mode, which cannot keep prepared statements.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=env.bool("DATABASE_SERVER_SIDE_BINDING", default=True),
        prepare_threshold=env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None,
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(Path(VAR_DIR) / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(Path(VAR_DIR) / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
# Uploads above this size are refused with a clear message (the zip upload page, the API).
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Ingest caps: hostile or accidental MIDI and archives are refused with the file and the reason.
CATALOG_MAX_MIDI_BYTES = env.int("CATALOG_MAX_MIDI_BYTES", default=8 * 1024 * 1024)
CATALOG_MAX_DURATION_SECONDS = env.float("CATALOG_MAX_DURATION_SECONDS", default=30 * 60)
CATALOG_MAX_ARCHIVE_MEMBERS = env.int("CATALOG_MAX_ARCHIVE_MEMBERS", default=2000)
CATALOG_MAX_ARCHIVE_BYTES = env.int("CATALOG_MAX_ARCHIVE_BYTES", default=200 * 1024 * 1024)
CATALOG_MAX_COMPRESSION_RATIO = env.float("CATALOG_MAX_COMPRESSION_RATIO", default=100.0)

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="musicsite <noreply@localhost>")

# Machine learning: where model artifacts live, and which device trains and samples.
MODEL_ROOT = env.path("MODEL_ROOT", default=str(Path(VAR_DIR) / "models"))
ML_DEVICE = env("ML_DEVICE", default="auto")  # auto | cpu | cuda

# Celery: filesystem transport by default (no server); Redis in production.
# (A host, which the filesystem ignores, spares every process kombu's "No hostname" warning.)
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(VAR_DIR) / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,  # seconds; the default (1 s) caps a worker at ~1 task/s
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "recommender.train_*": {"queue": "ml"},
    "generator.*": {"queue": "ml"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Recommender retraining: MF often, the sequence model less often, and after N new feedback.
RECOMMENDER_MF_KIND = env("RECOMMENDER_MF_KIND", default="als")
RECOMMENDER_SEQUENCE_KIND = env("RECOMMENDER_SEQUENCE_KIND", default="sasrec")
RECOMMENDER_RETRAIN_AFTER_FEEDBACK = env.int("RECOMMENDER_RETRAIN_AFTER_FEEDBACK", default=500)
# A model version serves only once evaluated on at least this many listeners' held-out plays
# (fewer measure nothing: NDCG@10 on 3 listeners is noise); until then popularity serves.
RECOMMENDER_MIN_EVAL_USERS = env.int("RECOMMENDER_MIN_EVAL_USERS", default=20)
# Each training searches its model's settings on held-out plays: seconds for the search and the
# fit (within the task's 45-minute limit), and trials at most.
RECOMMENDER_SEARCH_BUDGET_S = env.float("RECOMMENDER_SEARCH_BUDGET_S", default=1800.0)
RECOMMENDER_SEARCH_TRIALS = env.int("RECOMMENDER_SEARCH_TRIALS", default=30)
CELERY_BEAT_SCHEDULE: dict = {
    "recommender-train-mf": {
        "task": "recommender.train_scheduled",
        "schedule": env.float("RECOMMENDER_MF_EVERY_S", default=3600.0),
        "args": [RECOMMENDER_MF_KIND],
    },
    "recommender-train-sequence": {
        "task": "recommender.train_scheduled",
        "schedule": env.float("RECOMMENDER_SEQUENCE_EVERY_S", default=6 * 3600.0),
        "args": [RECOMMENDER_SEQUENCE_KIND],
    },
    "recommender-refit-feed-weights": {  # each feed source's share, from what listeners played
        "task": "recommender.refit_feed_weights",
        "schedule": env.float("RECOMMENDER_FEED_WEIGHTS_EVERY_S", default=3600.0),
    },
    "generator-fine-tune": {  # catalog + loved generated pieces; promoted only if not worse
        "task": "generator.fine_tune",
        "schedule": env.float("GENERATOR_FINE_TUNE_EVERY_S", default=24 * 3600.0),
    },
}
# "Make me a song": jobs per listener per hour, and the fine-tuning time budget (seconds).
GENERATOR_JOBS_PER_HOUR = env.int("GENERATOR_JOBS_PER_HOUR", default=5)
GENERATOR_FINE_TUNE_SECONDS = env.float("GENERATOR_FINE_TUNE_SECONDS", default=600.0)
CELERY_BEAT_SCHEDULE_FILENAME = str(Path(VAR_DIR) / "celerybeat-schedule")
# Work that never hangs (musicsite/jobs.py; README "Work that never hangs"). Running jobs,
# trainings and renders beat every JOBS_HEARTBEAT_SECONDS; one silent JOBS_STALE_SECONDS has
# lost its worker, and the reapers (every JOBS_REAP_EVERY_SECONDS) retry or fail it: acted on
# within 90 s by default. Queued work no worker started in JOBS_QUEUED_TIMEOUT_SECONDS fails.
JOBS_HEARTBEAT_SECONDS = env.float("JOBS_HEARTBEAT_SECONDS", default=5.0)
JOBS_STALE_SECONDS = env.float("JOBS_STALE_SECONDS", default=60.0)
JOBS_REAP_EVERY_SECONDS = env.float("JOBS_REAP_EVERY_SECONDS", default=30.0)
JOBS_QUEUED_TIMEOUT_SECONDS = env.float("JOBS_QUEUED_TIMEOUT_SECONDS", default=2 * 3600.0)
JOBS_MAX_ATTEMPTS = env.int("JOBS_MAX_ATTEMPTS", default=2)  # runs of one job or render
# Redis gives a message a worker took but never acknowledged (the worker was killed) to
# another worker after this long. It stays above every task's hard time limit (the longest,
# generator.fine_tune, is 65 min; tests/test_celery_limits.py checks), so no task runs twice.
CELERY_VISIBILITY_TIMEOUT_SECONDS = env.int("CELERY_VISIBILITY_TIMEOUT_SECONDS", default=3 * 3600)
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
        "socket_connect_timeout": 3,  # an unreachable broker fails a submit in seconds
    }
CELERY_BROKER_CONNECTION_TIMEOUT = 3
# Sending a task with the broker down gives up after about a second (the submit then says so).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
# The reapers run beside work a person waits on, never behind a training on `ml`; a reap
# that waited longer than its period is dropped (the next one comes).
for _name in ("generator.reap_jobs", "recommender.reap_trainings", "catalog.reap_renders"):
    CELERY_TASK_ROUTES[_name] = {"queue": "interactive"}  # exact names win over the globs
    CELERY_BEAT_SCHEDULE[_name.replace(".", "-")] = {
        "task": _name,
        "schedule": JOBS_REAP_EVERY_SECONDS,
        "options": {"expires": JOBS_REAP_EVERY_SECONDS},
    }

# The cache holds the API's throttle counters. Where several processes serve (gunicorn workers,
# several hosts) they must share one: CACHE_URL=redis://host:6379/1. The default keeps them
# per process, which is enough for `make run`'s single server.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"].endswith(".RedisCache"):
    # An unreachable Redis holds no request long: the throttles then count per process.
    _redis_options = CACHES["default"].setdefault("OPTIONS", {})
    _redis_options.setdefault("socket_connect_timeout", 2)
    _redis_options.setdefault("socket_timeout", 2)

REST_FRAMEWORK = {
    # orjson renders JSON several times faster than the standard library (the feed's pages).
    "DEFAULT_RENDERER_CLASSES": [
        "drf_orjson_renderer.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "ORJSON_RENDERER_OPTIONS": (orjson.OPT_UTC_Z,),  # "…Z" for UTC, as DRF's own renderer
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "musicsite.pagination.NumberedPages",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "musicsite.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "musicsite.api_schema.AutoSchema",
    # One error format for every API error (musicsite/api.py).
    "EXCEPTION_HANDLER": "musicsite.api.exception_handler",
    # DRF's parsers; the JSON one refuses bodies nested deeper than 32 (musicsite/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "musicsite.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Throttling: per client (anon/user) plus per-endpoint scopes (a view's `throttle_scope`).
    # Throttled requests get 429 with Retry-After. Rates: API_THROTTLE_RATES=user=2000/min,...
    "DEFAULT_THROTTLE_CLASSES": ["musicsite.throttling.ApiThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": "600/min",
        "user": "3000/min",
        "auth": "60/min",  # sign-up, token obtain
        "feed": "600/min",
        # "Make me a song" has its own limit per listener: GENERATOR_JOBS_PER_HOUR.
        **env.dict("API_THROTTLE_RATES", default={}),
    },
}
# API tokens (django-rest-knox, model accounts.ApiToken): stored hashed, one per device. A token
# expires after API_TOKEN_IDLE_DAYS without use and API_TOKEN_MAX_DAYS after sign-in whatever its
# use; its expiry moves on at most once every API_TOKEN_REFRESH_SECONDS (no write per request).
# A sign-in beyond API_TOKEN_MAX_DEVICES revokes the user's least recently used token.
API_TOKEN_IDLE_DAYS = env.int("API_TOKEN_IDLE_DAYS", default=30)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
API_TOKEN_REFRESH_SECONDS = env.int("API_TOKEN_REFRESH_SECONDS", default=3600)
API_TOKEN_MAX_DEVICES = env.int("API_TOKEN_MAX_DEVICES", default=20)
KNOX_TOKEN_MODEL = "accounts.ApiToken"
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=API_TOKEN_IDLE_DAYS),
    "AUTO_REFRESH": True,
    "AUTO_REFRESH_MAX_TTL": timedelta(days=API_TOKEN_MAX_DAYS),
    "MIN_REFRESH_INTERVAL": API_TOKEN_REFRESH_SECONDS,
    "AUTH_HEADER_PREFIX": "Token",  # the header mobile clients already send
}
# knox's own migrations create its (swapped-out, never used) table anyway: skip them.
MIGRATION_MODULES = {"knox": None}

SPECTACULAR_SETTINGS = {
    "TITLE": "musicsite API",
    "DESCRIPTION": "The API mobile clients use: catalog, listening signals, feed, generation.",
    # 2.0.0: history pages by cursor (no more count/previous), as every stream does.
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request bodies are JSON in the contract. Forms still parse (the browsable API, DRF's
    # tests) but are not documented: a form has no types ("0" is a boolean, "null" a string).
    "PARSER_WHITELIST": ["musicsite.parsers.JSONParser"],
    # Closed sets named for what they are (the default names, such as StatusEnum, say nothing).
    "ENUM_NAME_OVERRIDES": {
        "FeedSourceEnum": "recommender.feed.sources.SOURCES",
        "ReasonCodeEnum": "recommender.feed.sources.REASON_CODES",
        "ListenOutcomeEnum": "recommender.models.listening.OUTCOMES",
        "ListenResultStatusEnum": "recommender.listening.api.RESULT_STATUSES",
        "StatusEnum": "generator.models.GenerationJob.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "musicsite.api.add_error_responses",
    ],
}

# Client addresses, sign-in lockouts, sign-up and password-reset limits (README "Configuration").
# A client's address is REMOTE_ADDR; X-Forwarded-For counts only behind DJANGO_NUM_PROXIES
# proxies (musicsite/client_address.py), for the API's throttles and for these limits alike.
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES
# Per address, counted with the API's throttles (the API's sign-up shares the page's budget).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "signup": "10/hour",
    "password_reset": "10/hour",  # per address
    "password_reset_email": "3/hour",  # per e-mail address typed, whether it has an account
    **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],  # type: ignore[dict-item]  # env overrides these
}
# Failed sign-ins (pages, admin, API token) lock for SIGNIN_LOCKOUT_MINUTES after the last
# failure: an account from one address after SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, an address
# after SIGNIN_FAILURES_PER_ADDRESS (any accounts), an account after SIGNIN_FAILURES_PER_ACCOUNT
# from all addresses together, except from addresses it signed in from before
# (accounts/lockouts.py). django-axes records the failures.
INSTALLED_APPS.append("axes")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked sign-in
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # turns a lockout into a 429 page
AXES_HANDLER = "accounts.lockouts.SignInLockouts"
AXES_LOCKOUT_CALLABLE = "accounts.lockouts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "musicsite.client_address.client_address"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address", "username"]
AXES_FAILURE_LIMIT = env.int("SIGNIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", default=5)
SIGNIN_FAILURES_PER_ADDRESS = env.int("SIGNIN_FAILURES_PER_ADDRESS", default=20)
SIGNIN_FAILURES_PER_ACCOUNT = env.int("SIGNIN_FAILURES_PER_ACCOUNT", default=50)
AXES_COOLOFF_TIME = env.float("SIGNIN_LOCKOUT_MINUTES", default=15.0) / 60  # in hours
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]  # masked in its logs
# A refused attempt is not counted: one address adds at most its own limit to an account's.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False

LOGGING: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    # Each line names its request (X-Request-ID) or its Celery task and the row it works on
    # (musicsite/observability.py); "-" where none.
    "filters": {"context": {"()": "musicsite.observability.ContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[request=%(request_id)s task=%(task_id)s job=%(job_id)s]: %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
# Routine lines (one per request of the development server, per task a worker runs or beat
# sends: thousands while the demo catalog renders) go to this file instead of the console when
# it is set, as `make run` does (var/log/routine.log); their warnings and errors still reach
# the console.
ROUTINE_LOG_FILE = env("ROUTINE_LOG_FILE", default="")
if ROUTINE_LOG_FILE:
    Path(ROUTINE_LOG_FILE).parent.mkdir(parents=True, exist_ok=True)
    LOGGING["handlers"]["routine_file"] = {
        "class": "logging.FileHandler",
        "filename": ROUTINE_LOG_FILE,
        "formatter": "plain",
        "filters": ["context"],
        "delay": True,
    }
    LOGGING["handlers"]["console_warnings"] = {**LOGGING["handlers"]["console"], "level": "WARNING"}
    for _routine in (
        "django.server",
        "celery.app.trace",
        "celery.worker.strategy",
        "celery.beat",
        "axes.apps",  # its start-up line, once per process
    ):
        LOGGING["loggers"][_routine] = {
            "handlers": ["routine_file", "console_warnings"],
            "level": "INFO",
            "propagate": False,
        }

# Operations (README "Operations"): request ids, Sentry, Prometheus metrics, retention.
# Outermost: the latency histogram, then the request id every later log line carries.
MIDDLEWARE[0:0] = [
    "musicsite.metrics.LatencyMiddleware",
    "musicsite.observability.RequestIdMiddleware",
]
INSTALLED_APPS.append("musicsite")  # musicsite/tasks.py and the prune_retention command
# /metrics answers a bearer METRICS_TOKEN or a staff session (404 to anyone else).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_QUEUES = env.list("METRICS_QUEUES", default=["interactive", "default", "ml"])
METRICS_CACHE_SECONDS = env.float("METRICS_CACHE_SECONDS", default=10.0)
# Errors go to Sentry only when SENTRY_DSN is set; no personal data; no traces unless asked.
SENTRY_DSN = env("SENTRY_DSN", default="")
sentry_init(
    dsn=SENTRY_DSN,
    environment=env("SENTRY_ENVIRONMENT", default=""),
    release=env("SENTRY_RELEASE", default=""),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
)
# Retention (musicsite/retention.py), daily: the artifacts of never-promoted model versions
# beyond the newest RETENTION_KEEP_VERSIONS (per kind; the active and once-active ones stay),
# feed impressions not shown for RETENTION_IMPRESSION_DAYS, snapshots not built for
# RETENTION_SNAPSHOT_DAYS.
RETENTION_KEEP_VERSIONS = env.int("RETENTION_KEEP_VERSIONS", default=3)
RETENTION_IMPRESSION_DAYS = env.int("RETENTION_IMPRESSION_DAYS", default=180)
RETENTION_SNAPSHOT_DAYS = env.int("RETENTION_SNAPSHOT_DAYS", default=30)
RETENTION_EVERY_S = env.float("RETENTION_EVERY_S", default=24 * 3600.0)
CELERY_BEAT_SCHEDULE["retention-prune"] = {
    "task": "musicsite.retention_prune",
    "schedule": RETENTION_EVERY_S,
    "options": {"expires": RETENTION_EVERY_S / 2},  # no pile of them after a long outage
}
