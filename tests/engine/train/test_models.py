import pytest
import torch

from autoda.engine.train.models import NormedLinear, build_model


def test_resnet32_is_the_standard_cifar_net():
    model = build_model("resnet32", 10)
    assert sum(p.numel() for p in model.parameters()) == 464_154  # the literature's "0.47 M"
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 3 * 5 * 2  # stem + 3 stages x 5 blocks x 2 convs, no shortcut convs


@pytest.mark.parametrize("name,size", [("resnet32", 32), ("resnet8", 16), ("resnet50", 64)])
def test_models_expose_features_and_classifier(name, size):
    model = build_model(name, 7).eval()
    x = torch.rand(2, 3, size, size)
    features = model.embed(x)
    assert model(x).shape == (2, 7)
    assert torch.allclose(model.classifier(features), model(x), atol=1e-5)
    assert model.classifier.weight.shape == (7, features.shape[1])


def test_normed_classifier_gives_cosines():
    layer = NormedLinear(4, 3)
    out = layer(torch.randn(5, 4) * 100)
    assert out.abs().max() <= 1 + 1e-6
    assert build_model("resnet8", 3, normed=True).classifier.__class__ is NormedLinear


def test_ride_shares_the_first_stage_and_averages_three_experts():
    from autoda.engine.train.models import RideResNet

    net = build_model("resnet32", 10, normed=True, experts=3)
    assert isinstance(net, RideResNet) and len(net.experts) == 3 and len(net.shared) == 5
    widths = [block.conv2.out_channels for block in net.experts[0]]
    assert widths == [24] * 5 + [48] * 5  # RIDE's reduced widths for ResNet-32
    x = torch.randn(2, 3, 32, 32)
    net.eval()
    features = net.embed(x)
    logits = net.classifier(features)
    assert features.shape == (2, 3, 48) and logits.shape == (2, 3, 10)
    assert torch.allclose(net(x), logits.mean(dim=1))
    assert logits.abs().max() <= 30 + 1e-4  # scaled cosines
    assert net.classifier.weight.shape == (10, 3 * 48)
    with pytest.raises(ValueError, match="CIFAR ResNet"):
        build_model("resnet50", 10, experts=3)


def test_bcl_heads_around_resnet32_as_the_public_code_builds_them():
    net = build_model("resnet32", 10, contrastive=True).eval()
    plain = build_model("resnet32", 10)
    heads = [net.head, net.head_fc]
    # Linear(64, 512), BatchNorm1d(512), ReLU, Linear(512, 128), twice
    assert [[type(m).__name__ for m in h] for h in heads] == [["Linear", "BatchNorm1d", "ReLU", "Linear"]] * 2
    assert [(h[0].in_features, h[0].out_features, h[3].out_features) for h in heads] == [(64, 512, 128)] * 2
    extra = 2 * (64 * 512 + 512 + 2 * 512 + 512 * 128 + 128)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in plain.parameters()) + extra
    x = torch.randn(4, 3, 32, 32)
    features = net.embed(x)
    assert torch.allclose(net(x), net.classifier(features), atol=1e-6)  # predicts with the backbone's classifier
    projected, prototypes = net.project(features), net.prototypes()
    assert projected.shape == (4, 128) and prototypes.shape == (10, 128)
    assert torch.allclose(projected.norm(dim=1), torch.ones(4))
    assert torch.allclose(prototypes.norm(dim=1), torch.ones(10))
    net.classifier.weight.data.add_(1.0)  # prototypes follow the classifier's rows
    assert not torch.allclose(net.prototypes(), prototypes)
    with pytest.raises(ValueError, match="not both"):
        build_model("resnet32", 10, experts=3, contrastive=True)
