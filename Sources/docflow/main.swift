import DocflowService
print("hi")
