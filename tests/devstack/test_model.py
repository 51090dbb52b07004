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


def test_concurrent_callers_train_once_and_share_the_model(tmp_path, monkeypatch):
    import threading
    import time as clock

    from devstack import model

    trained = []

    def slow_train(target, *, log_file):
        trained.append(target)
        clock.sleep(0.3)  # the second caller arrives while this one holds the lock
        target.write_bytes(b"model")

    monkeypatch.setattr(model, "_train", slow_train)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(model.ensure_model(tmp_path)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(trained) == 1
    assert results[0] == results[1] == model.model_path(tmp_path)
    assert results[0].read_bytes() == b"model"
