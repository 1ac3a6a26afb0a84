#!/usr/bin/env ruby
# Ruby xmlrpc (ruby-xmlrpc gem) as a client: ruby client.rb HOST PORT SCENARIO
require "xmlrpc/client"
# PEER_RUBY_ENABLE=1 turns on the library's opt-in switches: ENABLE_BIGINT (ints
# outside 32 bits are then sent, still tagged <i4>) and nil create/parse.
if ENV["PEER_RUBY_ENABLE"] == "1"
  XMLRPC::Config.module_eval do
    %i[ENABLE_BIGINT ENABLE_NIL_CREATE ENABLE_NIL_PARSER].each { |k| remove_const(k); const_set(k, true) }
  end
end
host, port, scenario = ARGV
c = XMLRPC::Client.new3(host: host, port: port.to_i, path: "/RPC2")
begin
  r = case scenario
      when "plain"     then c.call("add", 2, 3)
      when "string"    then c.call("echo", "a<b & c> \u00e9")
      when "bigint"    then c.call("demo.echo", {"big" => 1099511627776, "small" => 7, "neg" => -5})
      when "fault"     then c.call("demo.fault", 4, "boom")
      when "multicall" then c.multicall(["add", 1, 2], ["demo.fault", 7, "x"])
      when "nil"       then c.call("demo.echo", nil)
      when "types"     then c.call("demo.echo", [true, false, 1.5, Time.utc(2026, 12, 1, 8, 30, 0),
                                                XMLRPC::Base64.new("hello world " * 8), ""])
      else abort "unknown scenario #{scenario}"
      end
  puts "result: #{r.inspect}"
rescue XMLRPC::FaultException => e
  puts "fault: #{e.faultCode} #{e.faultString}"
rescue => e
  puts "error: #{e.class}: #{e.message}"
end
