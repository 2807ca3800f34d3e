from sophia_pipeline_tests.reliability.fault_server import fault_server, http_server

__all__ = ["fault_server", "http_server"]
