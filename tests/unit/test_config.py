import pytest

from caja_tui import config


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CAJA_CONFIG", raising=False)
    cfg = config.load(None)
    assert cfg.till.currency_exponent == 2 and cfg.till.prices_include_tax is True


def test_path_from_flag_then_env_then_user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("CAJA_CONFIG", str(tmp_path / "env.toml"))
    assert config.resolve_path("flag.toml").name == "flag.toml"
    assert config.resolve_path(None) == tmp_path / "env.toml"
    monkeypatch.delenv("CAJA_CONFIG")
    assert config.resolve_path(None) == tmp_path / "xdg" / "caja" / "config.toml"


def test_relative_db_is_next_to_the_config(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[till]\ndb = "data/till.db"\n')
    assert config.load(str(p)).db_path == tmp_path / "data" / "till.db"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[till]\ncurrency_exponent = "two"\n', "till.currency_exponent: expected int, got str"),
        ('[till]\nstore = "x"\n', "till.store: unknown key"),
        ('[till]\nlanguage = "fr"\n', "till.language: invalid enum value 'fr'"),
        ("[sync]\nbatch_size = 0\n", "sync.batch_size: expected int >= 1"),
        ("[tills]\n", "tills: unknown key"),
        ("[till\n", "not valid TOML"),
        ('[till]\ndevice_id = "HQ"\n', "till.device_id: 'HQ' is the server's own device in each store"),
    ],
)
def test_a_wrong_key_or_type_gets_one_clear_line(tmp_path, text, expected):
    p = tmp_path / "c.toml"
    p.write_text(text)
    with pytest.raises(config.ConfigError) as e:
        config.load(str(p))
    message = str(e.value)
    assert expected in message
    assert "\n" not in message and str(p) in message


def test_rendered_template_parses_back():
    cfg = config.Config(till=config.TillConfig(store_id="shop-2", device_id="T07", kiosk=True))
    back = config.parse(config.render(cfg).encode())
    assert back.till.store_id == "shop-2" and back.till.kiosk is True


def test_the_store_settings_are_no_longer_written_but_an_older_file_with_them_still_loads():
    text = config.render(config.Config())
    for key in config.STORE_SETTINGS:
        assert f"\n{key} =" not in text
    old = config.parse(text.replace("[till]\n", '[till]\nshop_name = "Abarrotes Lupita"\nlow_stock = 5\n', 1))
    assert old.till.shop_name == "Abarrotes Lupita"
    assert config.file_settings(old.till) == {"shop_name": "Abarrotes Lupita"}  # what differs from the default


def test_the_store_settings_of_the_config_are_those_of_the_event():
    from caja_tui.domain.events import SETTINGS_FIELDS

    assert config.STORE_SETTINGS == SETTINGS_FIELDS


def test_the_example_file_in_the_repository_is_valid_and_shows_the_defaults():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    cfg = config.parse(example.read_bytes(), str(example))
    assert cfg.till == config.TillConfig() and cfg.sync == config.SyncConfig()
    assert example.read_text() == config.render(config.Config())  # every key is in it, with its comment
