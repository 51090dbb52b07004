from devstack.model import model_fingerprint, model_path


def test_fingerprint_changes_only_when_training_inputs_change(tmp_path):
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    nlu = data / "nlu" / "basics.yml"
    nlu.write_text("- intent: greet\n", encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text("language: zh\n", encoding="utf-8")
    inputs = [config, data]

    first = model_fingerprint(inputs, tmp_path)
    assert model_fingerprint(inputs, tmp_path) == first

    nlu.write_text("- intent: greet\n  examples: 你好\n", encoding="utf-8")
    assert model_fingerprint(inputs, tmp_path) != first

    nlu.write_text("- intent: greet\n", encoding="utf-8")
    (data / "rules.yml").write_text("rules: []\n", encoding="utf-8")
    assert model_fingerprint(inputs, tmp_path) != first


def test_model_file_is_named_by_the_fingerprint_of_bot_and_data(tmp_path):
    assert model_path(tmp_path).name == f"model-{model_fingerprint()}.tar.gz"
