"""The TLS files a client uses: the kiosk's [tls] table and the server's CEVAL_MQTT_*_FILE variables."""
from __future__ import annotations

import pytest

from device.settings import SettingsError, load_settings
from shared.broker_url import TlsFiles, tls_from_env


@pytest.fixture
def certs(tmp_path):
    folder = tmp_path / "tls"
    folder.mkdir()
    for name in ("ca.crt", "k-w03.crt", "k-w03.key"):
        (folder / name).write_text("PEM\n")
    return folder


def write(tmp_path, tls: str, broker: str = "mqtts://broker.hall.local:8883"):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'device = "k-w03"\nwindow = "w03"\nbroker = "{broker}"\ndata_dir = "data"\n{tls}',
                    encoding="utf-8")
    return path


def test_tls_files_are_read_relative_to_the_config_file(tmp_path, certs):
    settings = load_settings(write(tmp_path, '[tls]\nca_file = "tls/ca.crt"\ncert_file = "tls/k-w03.crt"\n'
                                             f'key_file = "{certs / "k-w03.key"}"\n'))
    assert settings.tls == TlsFiles(str(certs / "ca.crt"), str(certs / "k-w03.crt"), str(certs / "k-w03.key"))
    assert settings.tls.tls_set_args() == {"ca_certs": str(certs / "ca.crt"), "certfile": str(certs / "k-w03.crt"),
                                           "keyfile": str(certs / "k-w03.key")}


def test_without_a_tls_table_an_mqtts_kiosk_trusts_the_system_cas(tmp_path):
    assert load_settings(write(tmp_path, "")).tls is None
    assert TlsFiles().tls_set_args() == {"ca_certs": None, "certfile": None, "keyfile": None}


@pytest.mark.parametrize("tls,broker,message", [
    ('[tls]\nca_file = "tls/ca.crt"\n', "mqtt://broker:1883", "is for an mqtts:// broker"),
    ('[tls]\ncert_file = "tls/k-w03.crt"\n', None, "needs its key"),
    ('[tls]\nca_file = "tls/missing.crt"\n', None, "missing.crt does not exist"),
    ('[tls]\nca = "tls/ca.crt"\n', None, "unknown keys in [tls]: ca"),
    ('[tls]\nca_file = 3\n', None, "ca_file must be a file path"),
    ('tls = "tls/ca.crt"\n', None, "[tls] must be a table"),
])
def test_a_bad_tls_table_stops_the_kiosk_with_a_clear_error(tmp_path, certs, tls, broker, message):
    path = write(tmp_path, tls, broker or "mqtts://broker.hall.local")
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert message in str(error.value) and str(path) in str(error.value)


def test_the_server_reads_its_tls_files_from_the_environment(certs):
    assert tls_from_env({}) is None
    assert tls_from_env({"CEVAL_MQTT_CA_FILE": str(certs / "ca.crt")}) == TlsFiles(str(certs / "ca.crt"))
    env = {"CEVAL_MQTT_CA_FILE": str(certs / "ca.crt"), "CEVAL_MQTT_CERT_FILE": str(certs / "k-w03.crt"),
           "CEVAL_MQTT_KEY_FILE": str(certs / "k-w03.key")}
    assert tls_from_env(env) == TlsFiles(*env.values())
    with pytest.raises(ValueError, match="needs its key.*CEVAL_MQTT_KEY_FILE"):
        tls_from_env({"CEVAL_MQTT_CERT_FILE": str(certs / "k-w03.crt")})
    with pytest.raises(ValueError, match="nope.crt does not exist"):
        tls_from_env({"CEVAL_MQTT_CA_FILE": str(certs / "nope.crt")})
