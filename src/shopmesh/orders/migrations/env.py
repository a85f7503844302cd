from shopmesh.kit.migrations import run_env
from shopmesh.orders.repository import Base

run_env(Base.metadata)
