# pier's libraries by layer (docs/architecture.md): a library links only libraries of a lower
# layer, never one beside or above it. cmake/check_layering.cmake checks the build against it.
set(PIER_LAYER_base 0)
# Below every module: networking, and metrics (counters, gauges, histograms, Prometheus text).
set(PIER_LAYER_net 1)
set(PIER_LAYER_metrics 1)
# Engines: no networking. The performance analyzer and tuner (perf) read metrics only; the
# servers above register their sources (series, rules) and knobs with it.
set(PIER_LAYER_perf 2)
set(PIER_LAYER_cache 2)
set(PIER_LAYER_registry 2)
set(PIER_LAYER_queue 2)
set(PIER_LAYER_balance 2)
set(PIER_LAYER_resilience 2)
set(PIER_LAYER_deploy 2)
# What an engine's configuration or runtime needs beside it.
set(PIER_LAYER_proxy_config 3)
set(PIER_LAYER_deploy_drivers 3)
set(PIER_LAYER_registry_store 3)
# Servers and clients of one module each.
set(PIER_LAYER_cache_server 4)
set(PIER_LAYER_cache_client 4)
set(PIER_LAYER_registry_server 4)
set(PIER_LAYER_registry_client 4)
set(PIER_LAYER_queue_server 4)
set(PIER_LAYER_queue_client 4)
# The proxy discovers its hosts with the registry's client.
set(PIER_LAYER_proxy 5)
# A running system of `pier up` (services, rollouts, the platform servers beside them).
set(PIER_LAYER_deploy_runtime 6)
