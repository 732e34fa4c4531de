from kit.migrate import run_env
from services.audit.adapters.orm import metadata

run_env(metadata, "audit")
