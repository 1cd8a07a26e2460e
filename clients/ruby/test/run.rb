# frozen_string_literal: true

# Runs the Ruby client's tests against a real fedwalld:
#   ruby clients/ruby/test/run.rb --fedwalld PATH --fixtures DIR --gen DIR [minitest args]
# --fixtures is tests/fixtures/service; --gen is a scratch directory for the generated stubs.
# Exit codes: 0 passed, 1 failed, 77 skipped (ruby-grpc or grpc_tools_ruby_protoc missing).

root = File.expand_path("..", __dir__)
opts = {}
rest = []
args = ARGV.dup
until args.empty?
  arg = args.shift
  case arg
  when "--fedwalld", "--fixtures", "--gen"
    value = args.shift
    abort "run.rb: #{arg} needs a value" if value.nil?
    opts[arg.delete_prefix("--").to_sym] = value
  else
    rest << arg
  end
end
missing = %i[fedwalld fixtures gen].reject { |k| opts[k] }
abort "usage: run.rb --fedwalld PATH --fixtures DIR --gen DIR (missing #{missing.join(', ')})" unless missing.empty?
abort "run.rb: #{opts[:fedwalld]} is not an executable file" unless File.file?(opts[:fedwalld]) && File.executable?(opts[:fedwalld])
abort "run.rb: #{opts[:fixtures]}/policy not found" unless File.directory?(File.join(opts[:fixtures], "policy"))

begin
  require "grpc"
rescue LoadError => e
  puts "SKIP: the grpc gem is not installed (#{e.message}); Debian: apt-get install ruby-grpc"
  exit 77
end

system(RbConfig.ruby, File.join(root, "bin", "generate"), opts[:gen])
case $?.exitstatus
when 0 then nil
when 77
  puts "SKIP: grpc_tools_ruby_protoc is not installed; Debian: apt-get install ruby-grpc-tools"
  exit 77
else
  abort "run.rb: generating the stubs failed"
end

$LOAD_PATH.unshift(File.join(root, "lib"))
$LOAD_PATH.unshift(File.expand_path(opts[:gen]))
require "minitest"
require_relative "support"
FedwallTest.fedwalld_binary = File.expand_path(opts[:fedwalld])
FedwallTest.fixtures = File.expand_path(opts[:fixtures])
require_relative "client_test"
require_relative "mastodon_test"

passed = begin
  Minitest.run(rest)
ensure
  FedwallTest.stop
end
exit(passed ? 0 : 1)
