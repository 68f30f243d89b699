"""The pure parts of the selector's training (``bench/train_selector.py``): unanswerable twins,
the smaller student cut from a trained selector, and the loss that teaches it."""

from __future__ import annotations

import random

import pytest

from bench.train_selector import keep_layers, perturb, teacher_logits, training_loss

SENTENCE = "Notre Dame › The university was founded by Edward Sorin in 1842 in Indiana."
POOL = (("Indiana", "Notre Dame", "Saint Mary", "Sorin"), ("1842", "1879"))


def test_a_name_or_number_the_answer_sentence_has_is_swapped_for_one_it_lacks():
    for seed in range(20):
        twin = perturb("Who founded the university in 1842?", SENTENCE, POOL, random.Random(seed))
        assert twin == "Who founded the university in 1879?"
    for seed in range(20):
        twin = perturb("When did Sorin found it?", SENTENCE, POOL, random.Random(seed))
        # Only "Saint Mary" is a name the sentence lacks; the question's first word is never swapped.
        assert twin == "When did Saint Mary found it?"


def test_without_a_swap_the_question_is_negated_once_and_a_negated_one_is_left_alone():
    assert perturb("What was the school called?", SENTENCE, ((), ()), random.Random(0)) == (
        "What was not the school called?"
    )
    assert perturb("What was never built there?", SENTENCE, ((), ()), random.Random(0)) is None
    assert perturb("Name the founder.", SENTENCE, ((), ()), random.Random(0)) is None


def _tiny_cross_encoder(layers: int):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=8,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=16,
        num_labels=1,
    )
    return BertForSequenceClassification(config).eval()


def test_a_student_keeps_the_chosen_layers_and_saves_as_a_model_of_that_size(tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification

    model = _tiny_cross_encoder(6)
    chosen = [model.bert.encoder.layer[i] for i in (0, 2, 4)]
    keep_layers(model, [0, 2, 4])
    assert list(model.bert.encoder.layer) == chosen
    ids = torch.tensor([[1, 5, 7, 2, 9, 3]])
    with torch.inference_mode():
        before = model(input_ids=ids).logits
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path, local_files_only=True).eval()
    assert loaded.config.num_hidden_layers == 3 and len(loaded.bert.encoder.layer) == 3
    with torch.inference_mode():
        assert torch.allclose(loaded(input_ids=ids).logits, before, atol=1e-6)
    with pytest.raises(ValueError, match="layers 0..2"):
        keep_layers(loaded, [0, 3])


def test_the_distillation_loss_mixes_label_cross_entropy_with_the_teachers_logits():
    import torch

    logits = torch.tensor([2.0, -1.0, 0.5])
    labels = torch.tensor([1.0, 0.0, 0.0])
    teacher = torch.tensor([3.0, -2.0, -1.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    assert torch.isclose(training_loss(logits, labels), bce)
    assert torch.isclose(training_loss(logits, labels, teacher, 0.0), bce)
    assert torch.isclose(training_loss(logits, labels, teacher, 1.0), torch.tensor((1 + 1 + 2.25) / 3))
    assert torch.isclose(training_loss(logits, labels, teacher, 0.5), 0.5 * bce + 0.5 * torch.tensor(4.25 / 3))
    assert training_loss(teacher, labels, teacher, 1.0) == 0


def test_a_student_learns_from_its_teachers_logits():
    import torch

    teacher = _tiny_cross_encoder(4)
    student = _tiny_cross_encoder(4)
    student.load_state_dict(teacher.state_dict())
    with torch.no_grad():
        teacher.classifier.bias.fill_(3.0)  # so the student has something to learn
    keep_layers(student, [0, 2])
    student.train()
    enc = {"input_ids": torch.tensor([[1, 5, 7, 2, 9, 3], [1, 6, 8, 2, 4, 3]])}
    labels = torch.tensor([1.0, 0.0])
    target = teacher_logits(teacher, enc)
    optimizer = torch.optim.SGD(student.parameters(), lr=0.5)
    losses = []
    for _ in range(5):
        loss = training_loss(student(**enc).logits[:, 0], labels, target, 1.0)
        loss.backward()  # the teacher's tensor must be one autograd can keep for the backward pass
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[0] > 1 and losses[-1] < losses[0] / 2
