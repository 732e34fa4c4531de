from kit.migrate import run_env
from services.ledger.adapters.orm import metadata

run_env(metadata, "ledger")
