from shopmesh.dispatcher.repository import Base
from shopmesh.kit.migrations import run_env

run_env(Base.metadata)
