# xmlrpc_instance_dotted_names_client.py

import xmlrpc.client

proxy = xmlrpc.client.ServerProxy('http://localhost:9000')

print(proxy.dir.list('/tmp'))
