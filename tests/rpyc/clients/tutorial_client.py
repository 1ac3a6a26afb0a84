import os

import rpyc

# Establish connection with RPC server
conn = rpyc.classic.connect("127.0.0.1", port=int(os.environ["RPYC_PORT"]))

# Print remote working directory
print("Remote working directory: ")
currentDir = conn.modules.os.getcwd()
print(currentDir)
print(" ")

# Send message to RPC server
conn.modules.sys.stdout.write("This is a message from the RPC client.\n")

# Retreive list of installed modules on server
print("Installed modules: ")
for i in conn.modules.sys.path:
    print(i)
