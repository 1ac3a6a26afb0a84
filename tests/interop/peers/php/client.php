<?php
// PHP xmlrpc extension (xmlrpc-epi) as a client: php client.php HOST PORT SCENARIO
// The extension only encodes/decodes; the HTTP POST is PHP's own stream wrapper.
[$_, $host, $port, $scenario] = $argv;
$dt = '20261201T08:30:00'; xmlrpc_set_type($dt, 'datetime');
$b64 = str_repeat('hello world ', 8); xmlrpc_set_type($b64, 'base64');
$calls = [
    'plain' => ['add', [2, 3]],
    'string' => ['echo', ["a<b & c> \u{e9}"]],
    'bigint' => ['demo.echo', [['big' => 1099511627776, 'small' => 7, 'neg' => -5]]],
    'fault' => ['demo.fault', [4, 'boom']],
    // no multicall helper on the client side: call system.multicall by hand
    'multicall' => ['system.multicall', [[['methodName' => 'add', 'params' => [1, 2]],
                                          ['methodName' => 'demo.fault', 'params' => [7, 'x']]]]],
    'nil' => ['demo.echo', [null]],
    'types' => ['demo.echo', [[true, false, 1.5, $dt, $b64, '']]],
    // the same string with output_options: encoding utf-8 (and markup-only escaping)
    'string-utf8' => ['echo', ["a<b & c> \u{e9}"], ['encoding' => 'utf-8', 'escaping' => 'markup']],
    // output_options encoding UTF-16: what the extension writes under that declaration
    'utf16' => ['echo', ["a<b & c> \u{e9}"], ['encoding' => 'UTF-16']],
];
if (!isset($calls[$scenario])) { fwrite(STDERR, "unknown scenario $scenario\n"); exit(2); }
[$method, $params] = $calls[$scenario];
$body = xmlrpc_encode_request($method, $params, $calls[$scenario][2] ?? []);
$ctx = stream_context_create(['http' => ['method' => 'POST', 'header' => "Content-Type: text/xml\r\nUser-Agent: php-xmlrpc-peer",
                                         'content' => $body, 'ignore_errors' => true]]);
$resp = @file_get_contents("http://$host:$port/RPC2", false, $ctx);
if ($resp === false) { echo "error: no response\n"; exit(0); }
$v = xmlrpc_decode($resp);
if (is_array($v) && xmlrpc_is_fault($v)) echo "fault: {$v['faultCode']} {$v['faultString']}\n";
else echo "result: ", json_encode($v), "\n";
