# frozen_string_literal: true

require_relative "lib/fedwall/version"

# The gem ships the generated stubs (lib/fedwall/v1/*_pb.rb): build it with `rake build`,
# which generates them from proto/fedwall/v1/ first. They are not in git.
Gem::Specification.new do |spec|
  spec.name = "fedwall"
  spec.version = Fedwall::VERSION
  spec.summary = "Client of the fedwall fediverse moderation service, with Mastodon glue"
  spec.description = "Asks fedwalld (gRPC) for a verdict on each incoming ActivityPub activity; " \
                     "fails open or closed, never raises for transport failures; helpers to " \
                     "send Mastodon account facts and apply effects to statuses."
  spec.authors = ["fedwall contributors"]
  spec.required_ruby_version = ">= 3.0"
  spec.files = Dir["lib/**/*.rb", "bin/generate", "examples/*.rb", "README.md"]
  spec.require_paths = ["lib"]
  spec.add_dependency "google-protobuf", ">= 3.21"
  spec.add_dependency "grpc", ">= 1.51"
  spec.add_development_dependency "grpc-tools", ">= 1.51"
  spec.add_development_dependency "minitest", ">= 5.15"
end
