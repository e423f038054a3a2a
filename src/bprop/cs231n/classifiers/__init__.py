"""The course's models: fc_net.TwoLayerNet, fc_net.FullyConnectedNet, cnn.ThreeLayerConvNet."""
