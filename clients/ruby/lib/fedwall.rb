# frozen_string_literal: true

# fedwall: a client of the fedwall moderation service (fedwalld) for Ruby servers.
#   require "fedwall"           # the client (needs the grpc gem and the generated stubs)
#   require "fedwall/mastodon"  # the Mastodon helpers (plain Ruby, no gRPC)
require "fedwall/version"
require "fedwall/result"
require "fedwall/client"
