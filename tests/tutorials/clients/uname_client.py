import xmlrpc.client

rpc_server = 'localhost:8000'
print(f'Connecting to {rpc_server}')
server = xmlrpc.client.ServerProxy(f'http://{rpc_server}')
print('Calling server.uname()')
print(server.uname())
print('Calling listMethods')
print(server.system.listMethods())
