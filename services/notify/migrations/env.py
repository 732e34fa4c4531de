from kit.migrate import run_env
from services.notify.adapters.orm import metadata

run_env(metadata, "notify")
