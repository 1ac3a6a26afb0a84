import xmlrpc.client

proxy = xmlrpc.client.ServerProxy("http://localhost:9000/")
result = proxy.add(2, 3)
print("Result of 2 + 3 is:", result)
