#!/usr/bin/env ruby
# Ruby xmlrpc (ruby-xmlrpc gem) as a server: ruby server.rb HOST PORT
require "xmlrpc/server"
# PEER_RUBY_ENABLE=1 turns on the library's opt-in switches: ENABLE_BIGINT (ints
# outside 32 bits are then sent, still tagged <i4>) and nil create/parse.
if ENV["PEER_RUBY_ENABLE"] == "1"
  XMLRPC::Config.module_eval do
    %i[ENABLE_BIGINT ENABLE_NIL_CREATE ENABLE_NIL_PARSER].each { |k| remove_const(k); const_set(k, true) }
  end
end
host, port = ARGV
s = XMLRPC::Server.new(port.to_i, host, 4, File.open(File::NULL, "w"))
s.add_handler("add") { |a, b| a + b }
s.add_handler("echo") { |x| x }
s.add_handler("bigstruct") { {"big" => 1099511627776, "small" => 7, "neg" => -5} }
s.add_handler("fail") { raise XMLRPC::FaultException.new(4, "boom") }
s.add_handler("crash") { raise "unexpected error" }
s.add_handler("nil") { nil }
s.add_handler("types") { [true, false, 1.5, Time.utc(2026, 12, 1, 8, 30, 0), XMLRPC::Base64.new("hello world " * 8), ""] }
s.add_introspection
s.add_multicall
s.serve
