<?php
// PHP xmlrpc extension (xmlrpc-epi) as a server, under the built-in web server:
//   php -S HOST:PORT server.php
$s = xmlrpc_server_create();
xmlrpc_server_register_method($s, 'add', fn($m, $p) => $p[0] + $p[1]);
xmlrpc_server_register_method($s, 'echo', fn($m, $p) => $p[0]);
xmlrpc_server_register_method($s, 'bigstruct', fn($m, $p) => ['big' => 1099511627776, 'small' => 7, 'neg' => -5]);
// the documented way to answer a fault: an array with faultCode and faultString
xmlrpc_server_register_method($s, 'fail', fn($m, $p) => ['faultCode' => 4, 'faultString' => 'boom']);
xmlrpc_server_register_method($s, 'crash', function ($m, $p) { throw new Exception('unexpected error'); });
xmlrpc_server_register_method($s, 'nil', fn($m, $p) => null);
xmlrpc_server_register_method($s, 'types', function ($m, $p) {
    $dt = '20261201T08:30:00'; xmlrpc_set_type($dt, 'datetime');
    $b64 = str_repeat('hello world ', 8); xmlrpc_set_type($b64, 'base64');
    return [true, false, 1.5, $dt, $b64, ''];
});
header('Content-Type: text/xml');
echo xmlrpc_server_call_method($s, file_get_contents('php://input'), null);
